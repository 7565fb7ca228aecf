"""The text corpus of the demo source: chat lines with slots, filled from word lists.

A line is a template such as "let's grab {food} at {place} {day}?"; `Corpus.line` picks one from a
topic and fills its slots. Topics keep a conversation on one subject, `FUNNY` lines attract laugh
reactions, and `PLANTED_TOPICS` are scripted conversations that search-quality tests look for.
Everything here is data plus one small template filler; randomness comes from the caller's Random.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

SLOT_VALUES: dict[str, tuple[str, ...]] = {
    "food": ("dinner", "tacos", "sushi", "pizza", "ramen", "brunch", "pho", "dim sum", "burgers",
             "thai food", "pasta", "bagels", "coffee", "drinks", "ice cream", "bbq", "curry",
             "dumplings", "a burrito", "pancakes"),
    "place": ("Luigi's", "the new ramen place", "Blue Bottle", "the farmers market", "Joe's Diner",
              "Tartine", "the taco truck", "Sam's Grill", "the rooftop bar", "Chez Panisse",
              "the brewery on 5th", "Pho 24", "the park", "the gym", "Trader Joe's", "Whole Foods",
              "the mall", "Costco", "the library", "the beach"),
    "time": ("7", "7:30", "8", "6", "noon", "6:30", "9", "10", "5:45", "8:15", "lunchtime", "11"),
    "day": ("tomorrow", "tonight", "on Friday", "this weekend", "on Saturday", "next week",
            "on Sunday", "Monday", "after work", "on Thursday", "later today", "next Tuesday"),
    "city": ("Lisbon", "Tokyo", "Denver", "Chicago", "Barcelona", "Austin", "Seattle", "Mexico City",
             "Montreal", "New Orleans", "Portland", "Nashville", "Reykjavik", "Boston", "Kyoto",
             "Vancouver", "Miami", "London", "Berlin", "Honolulu"),
    "team": ("the Warriors", "the Giants", "the Yankees", "the Lakers", "the Eagles", "the Cubs",
             "the Celtics", "the Niners", "Arsenal", "the Packers", "the Dodgers", "the Knicks"),
    "show": ("The Bear", "Severance", "Succession", "Ted Lasso", "Shogun", "The Last of Us",
             "White Lotus", "Only Murders", "Slow Horses", "Abbott Elementary", "Dune", "Barbie"),
    "activity": ("hiking", "climbing", "yoga", "a run", "tennis", "pickleball", "the movies",
                 "bowling", "trivia night", "karaoke", "a bike ride", "board games", "the museum",
                 "a concert", "golf", "swimming"),
    "item": ("the charger", "your jacket", "the keys", "the book", "the speaker", "my sunglasses",
             "the tent", "the drill", "the cooler", "the HDMI cable", "your umbrella", "the ladder"),
    "work": ("the deck", "the quarterly report", "the budget", "the launch", "the client call",
             "the demo", "the offsite", "the review", "the contract", "the roadmap",
             "the interview", "the migration"),
    "family": ("mom", "dad", "grandma", "my sister", "my brother", "the kids", "uncle Rob",
               "aunt Linda", "my cousin", "grandpa"),
    "emoji": ("😂", "❤️", "👍", "🙏", "🎉", "😅", "🔥", "😭", "🥳", "👀", "😍", "🤔", "🍕", "✈️",
              "🏃", "☕️", "😬", "💯", "🙌", "😴"),
    "num": ("2", "3", "4", "5", "10", "15", "20", "30", "45"),
    "price": ("$12", "$25", "$40", "$18.50", "$60", "$9", "$120", "$35"),
    "url": ("https://www.nytimes.com/2024/05/12/travel/lisbon-48-hours.html",
            "https://youtu.be/dQw4w9WgXcQ", "https://maps.apple.com/?q=Tartine+Bakery",
            "https://www.opentable.com/r/luigis-trattoria", "https://github.com/simonw/datasette",
            "https://www.airbnb.com/rooms/48213377", "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
            "https://www.espn.com/nba/story/_/id/39912345", "https://www.theverge.com/2024/6/10/apple-wwdc",
            "https://en.wikipedia.org/wiki/Axolotl", "https://www.eventbrite.com/e/trivia-night-tickets",
            "https://www.reddit.com/r/Cooking/comments/1b2c3d/best_lasagna/"),
}

# Lines any conversation may contain.
GENERIC: tuple[str, ...] = (
    "hey", "hey!", "hi", "yo", "morning!", "ok", "okay", "ok cool", "sounds good", "sounds good!",
    "yep", "yeah", "nope", "sure", "for sure", "totally", "makes sense", "got it", "thanks!",
    "thank you so much", "no worries", "np", "omw", "on my way", "here", "just got here",
    "running 5 min late sorry", "be there in {num}", "call me when you can", "can't talk now, text?",
    "lol", "lmao", "wait what", "really?", "no way", "nice", "nice!!", "love it", "same", "ugh",
    "good night", "night!", "talk later", "ttyl", "miss you", "love you", "k", "👍", "{emoji}",
    "{emoji}{emoji}", "did you see my email?", "just saw this", "sorry just saw this",
    "how's your day going?", "what are you up to?", "are you around?", "you free later?",
    "let me check and get back to you", "all good", "perfect", "haha yes", "I'm so tired",
    "happy friday!", "what time works for you?", "whenever works", "I'm down", "count me in",
    "I can't, sorry", "maybe next time", "can you call me?", "just landed", "home now",
)

# Short reactions to something funny.
LAUGHTER: tuple[str, ...] = (
    "haha that's hilarious", "hahaha", "😂😂😂", "lmaooo", "I'm crying 😭", "stop it 😂",
    "that's amazing", "dying", "LOL", "hahaha no way", "you're ridiculous", "I can't breathe 😂",
)

# Lines meant to be funny: laugh reactions prefer them.
FUNNY: tuple[str, ...] = (
    "the dog just stole an entire {food} off the counter and looked me dead in the eye",
    "I tried to parallel park for 10 minutes and gave up and parked 3 blocks away",
    "{name} just fell asleep standing up in line at {place}",
    "my autocorrect changed 'see you soon' to 'see you spoon' in an email to my boss",
    "I walked into a glass door at {place} today. full speed. people clapped",
    "the cat learned to open the fridge. we are doomed",
    "accidentally waved at someone who was waving at the person behind me. had to move cities",
    "just spent 20 minutes looking for my phone while using the flashlight on my phone",
    "my mom just sent me a 4 minute voice memo that was entirely her pocket",
    "I ordered one taco and they gave me eleven. not complaining",
    "{name} showed up to the costume party dressed as a 'tired adult'. genius honestly",
    "the GPS told me to turn left into a lake",
    "I said 'you too' when the waiter said enjoy your meal",
    "my plant died and I'm taking it personally",
    "the baby said her first word and it was 'nope'",
    "tried a new recipe, set off the smoke alarm, ordered {food}",
)

# Topic lines; a conversation mostly stays within one topic.
TOPICS: dict[str, tuple[str, ...]] = {
    "plans": (
        "let's grab {food} {day} at {time}", "want to get {food} {day}?", "dinner {day}? I'm thinking {place}",
        "are we still on for {day}?", "I booked a table at {place} for {time}", "meet at {place} at {time}?",
        "can we push to {time}?", "let's do {activity} {day}", "anyone up for {activity} {day}?",
        "I'll pick you up at {time}", "should I bring anything?", "I'll bring {food}",
        "table for {num} at {time}, confirmed", "we should get {food} at {place} sometime",
        "are you coming to {name}'s thing {day}?", "what's the plan for {day}?", "I'm free after {time}",
        "{place} or {place}?", "how about {day} instead?", "I'll be there around {time}",
        "let's do brunch {day}", "movie {day}? the {time} showing", "drinks after work {day}?",
        "see you at {time}!", "I'll text you when I'm outside", "parking is a nightmare, take the train",
    ),
    "commitments": (
        "I'll send you the photos tonight", "I'll call you back in {num} min", "I'll pay you back {day}",
        "I'll drop off {item} {day}", "I promise I'll bring {item} this time", "I'll book the tickets {day}",
        "I'll email {name} about it {day}", "I'll pick up {food} on the way", "I'll venmo you {price}",
        "I'll check with {family} and let you know", "remind me to return {item}",
        "I'll handle the reservation", "I'll send the address in a sec", "I'll finish {work} by {day}",
        "I'll grab groceries after work", "don't forget to bring {item}!", "can you send me the link?",
        "I'll look into flights {day}", "I'll take care of the dishes, go relax",
        "I'll have the draft of {work} to you by {day}", "I'll be there, I promise",
    ),
    "questions": (
        "did you end up going to {place}?", "how was {activity}?", "what did you think of {show}?",
        "have you talked to {name} lately?", "do you still have {item}?", "what's {name}'s number?",
        "is {place} open on Sundays?", "how's {family} doing?", "when do you fly out?",
        "do you know a good plumber?", "what are you doing for the holidays?", "did you get my package?",
        "which train do I take to {place}?", "how much was it?", "are you watching the game?",
        "what's the wifi password again?", "did {name} ever text you back?", "how did {work} go?",
        "is it supposed to rain {day}?", "do you want the rest of the {food}?",
    ),
    "travel": (
        "just booked flights to {city}!!", "{city} was incredible {emoji}", "what should we do in {city}?",
        "our flight got delayed {num} hours", "passport expires next month, panicking",
        "found a great airbnb in {city} {url}", "landed in {city}!", "the hotel upgraded us {emoji}",
        "going to {city} {day}, any recs?", "trying to pack everything in a carry-on",
        "jet lag is destroying me", "the food in {city} is unreal", "we missed the connection in {city}",
        "rental car is booked", "I need a vacation so badly", "beach day tomorrow {emoji}",
        "can you water the plants while we're in {city}?", "road trip playlist ready",
    ),
    "work": (
        "{work} took forever today", "my boss loved {work}", "stuck in meetings all day",
        "can't talk, in {work}", "just finished {work} finally", "working late again {emoji}",
        "got the promotion!!!", "interview went well I think", "new job starts {day}",
        "the wifi at the office is down again", "wfh today", "so much email", "need a coffee {emoji}",
        "{name} is leaving the company", "deadline moved up to {day}", "presenting {work} {day}, wish me luck",
        "I think I'm going to ask for a raise", "offsite is in {city} this year",
    ),
    "food": (
        "just made the best {food} of my life", "craving {food} so bad", "{place} has a new menu",
        "I'm trying the {food} at {place}", "recipe? {url}", "we're out of coffee {emoji}",
        "the line at {place} is insane", "they were out of {food}, tragic", "I'm cooking tonight",
        "dinner's ready in {num}!", "what do you want for dinner?", "ordering {food}, want anything?",
        "tried {place}, 10/10", "brunch was amazing", "we should do a potluck",
    ),
    "family": (
        "{family} says hi", "call {family}, it's their birthday", "{family} is visiting {day}",
        "the kids have soccer at {time}", "can you pick up the kids {day}?", "{family} sent pictures",
        "happy birthday!!! {emoji}", "thanksgiving at our place this year?", "{family} is feeling better",
        "family dinner {day} at {time}", "I'm at {family}'s", "{family} wants to video chat {day}",
        "the baby is finally asleep", "graduation is {day}!", "don't forget mother's day",
    ),
    "sports": (
        "did you see {team} last night??", "{team} are going to the playoffs!!", "what a game {emoji}",
        "{team} blew it again", "want to watch the game at {place}?", "tickets for {team} {day}?",
        "fantasy draft is {day}", "that ref was blind", "I ran {num} miles today", "new PR at the gym {emoji}",
        "pickup basketball {day} at {time}?", "my knees are too old for this", "game starts at {time}",
    ),
    "media": (
        "have you watched {show}?", "just finished {show}, wow", "no spoilers for {show} please!!",
        "new episode of {show} tonight", "listen to this {url}", "this song is stuck in my head",
        "watch this {url}", "the book was better", "{show} season 2 is out", "I fell asleep during the movie",
        "this is so you {url}", "saw this and thought of you {url}",
    ),
    "home": (
        "the landlord is finally fixing the sink", "can you grab {item} from my place?",
        "package came for you", "the wifi is down again", "who finished the milk",
        "rent is due {day}", "I'm doing laundry, need anything washed?", "heater's broken again",
        "the cat threw up on the rug", "I left {item} at your place", "cleaners come {day}",
    ),
}

# One-time codes and alerts sent from SMS short codes.
OTP_LINES: tuple[str, ...] = (
    "Your verification code is {code}. Don't share it with anyone.",
    "G-{code} is your Google verification code.",
    "{code} is your security code. Don't share your code.",
    "Your Uber code: {code4}. Never share this code.",
    "Chase: Your one-time code is {code}. Don't share it. We'll never call to ask for it.",
    "Your Venmo verification code is: {code}",
    "Amazon: Your package was delivered. Track at https://amzn.to/3xYzAbC",
    "CVS Pharmacy: Your prescription is ready for pickup.",
    "Your DoorDash order is on the way! Track it here: https://drd.sh/abc123",
    "Use {code} to verify your Microsoft account.",
)

SHORT_CODES: tuple[str, ...] = ("22000", "32665", "89203", "266278", "454545", "72975", "692639")

# Scripted conversations with a known subject. Each line is (speaker, text): "me", "them" or
# "any" (any member). Keywords are words a search for the topic should match.
PLANTED_TOPICS: tuple[dict, ...] = (
    {"key": "lisbon_trip", "title": "Planning a trip to Lisbon",
     "keywords": ("Lisbon", "flights", "pastel de nata", "Alfama"),
     "script": (("me", "ok Lisbon trip planning, I found flights for October"),
                ("them", "yes!! how much were the flights?"),
                ("me", "about $640 round trip, nonstop from Newark"),
                ("them", "book it. I want to stay in Alfama, it looks so pretty"),
                ("me", "found an apartment in Alfama with a view of the river"),
                ("them", "I'm going to eat a pastel de nata every single day"),
                ("me", "we have to do the day trip to Sintra too"),
                ("them", "Lisbon is going to be amazing, I'll book the Sintra tickets"))},
    {"key": "surprise_party", "title": "Surprise 40th birthday party for Dana",
     "keywords": ("surprise party", "Dana", "birthday", "cake"),
     "script": (("me", "reminder: Dana's surprise party is Saturday, don't say anything"),
                ("them", "my lips are sealed. what time should people arrive?"),
                ("me", "6:30 sharp, Dana gets there at 7"),
                ("them", "I ordered the cake, chocolate with raspberry, says Happy 40th Dana"),
                ("me", "perfect, I'll handle the balloons and the playlist"),
                ("them", "can't wait to see Dana's face at the surprise party"))},
    {"key": "kitchen_renovation", "title": "Kitchen renovation and contractor quotes",
     "keywords": ("kitchen", "renovation", "contractor", "countertops", "quote"),
     "script": (("them", "the contractor came by for the kitchen renovation quote"),
                ("me", "how bad was the quote?"),
                ("them", "$38k for cabinets, countertops and new floors"),
                ("me", "oof. did you get a second quote?"),
                ("them", "second contractor said $31k but can't start until March"),
                ("me", "quartz countertops are worth it, trust me"),
                ("them", "ok going with quartz. kitchen renovation starts in March then"))},
    {"key": "marathon_training", "title": "Half marathon training plan",
     "keywords": ("half marathon", "training", "long run", "miles"),
     "script": (("me", "signed up for the half marathon in April!"),
                ("them", "let's train together, long run every Sunday?"),
                ("me", "yes. 8 miles this Sunday, building up to 12"),
                ("them", "my shins hurt after the long run, new shoes time"),
                ("me", "the running store on Main does free gait analysis"),
                ("them", "half marathon training is going great, did 11 miles today!"))},
    {"key": "puppy_adoption", "title": "Adopting a puppy from the shelter",
     "keywords": ("puppy", "adopt", "shelter", "Biscuit"),
     "script": (("them", "we're going to the shelter Saturday to adopt a puppy!!"),
                ("me", "omg what kind?"),
                ("them", "a beagle mix, 10 weeks old, they call him Biscuit"),
                ("me", "Biscuit is the perfect name, keep it"),
                ("them", "adoption papers signed! Biscuit is home and already chewed a shoe"),
                ("me", "send puppy pictures immediately"))},
    {"key": "job_offer", "title": "Deciding on a job offer in Seattle",
     "keywords": ("job offer", "Seattle", "salary", "relocation"),
     "script": (("me", "I got the job offer from the Seattle company"),
                ("them", "congrats!!! what's the salary?"),
                ("me", "15% more plus relocation, but I'd have to move to Seattle"),
                ("them", "Seattle is great, but what about the rain"),
                ("me", "I'm going to negotiate the start date and accept the job offer"),
                ("them", "so proud of you. Seattle here you come"))},
    {"key": "wedding_planning", "title": "Wedding venue and guest list",
     "keywords": ("wedding", "venue", "guest list", "caterer"),
     "script": (("them", "we toured three wedding venues this weekend"),
                ("me", "which venue did you like best?"),
                ("them", "the vineyard one, but it only fits 120 so the guest list has to shrink"),
                ("me", "cut the plus ones for coworkers, that's what we did"),
                ("them", "the caterer wants a deposit by Friday"),
                ("me", "the wedding is going to be beautiful, send me the venue photos"))},
    {"key": "car_accident", "title": "Fender bender and insurance claim",
     "keywords": ("accident", "insurance", "claim", "bumper"),
     "script": (("them", "someone rear-ended me at the light, I'm ok"),
                ("me", "oh no! are you sure you're ok?"),
                ("them", "yes just shaken up. the bumper is wrecked"),
                ("me", "take photos and get their insurance info"),
                ("them", "filed the insurance claim, adjuster comes Tuesday"),
                ("me", "glad you're ok, accidents are so scary"))},
    {"key": "book_club", "title": "Book club pick: Project Hail Mary",
     "keywords": ("book club", "Project Hail Mary", "chapter"),
     "script": (("any", "book club is at my place Thursday"),
                ("any", "did everyone finish Project Hail Mary?"),
                ("any", "I'm on chapter 20, no spoilers!!"),
                ("any", "Rocky is the best character in any book ever"),
                ("any", "next book club pick should be something shorter lol"))},
    {"key": "moving_day", "title": "Moving apartments, truck and boxes",
     "keywords": ("moving", "truck", "boxes", "new apartment"),
     "script": (("me", "moving day is the 15th, can you help?"),
                ("them", "of course. did you rent a truck?"),
                ("me", "yes, 15 foot truck from 9am, I have 40 boxes packed"),
                ("them", "I'll bring dollies and pizza for the moving crew"),
                ("me", "new apartment has a dishwasher finally"),
                ("them", "moving is the worst but the new apartment is so nice"))},
)

_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Line:
    """A chat line as written, with whether it is meant to be funny."""

    text: str
    funny: bool = False


class Corpus:
    """Fills templates from SLOT_VALUES; names come from the caller (people in the chat)."""

    def __init__(self) -> None:
        self._compiled: dict[str, tuple[str | tuple[str], ...]] = {}
        self.topic_names: tuple[str, ...] = tuple(TOPICS)

    def _parts(self, template: str) -> tuple:
        parts = self._compiled.get(template)
        if parts is None:
            pieces: list = []
            last = 0
            for match in _SLOT.finditer(template):
                if match.start() > last:
                    pieces.append(template[last:match.start()])
                pieces.append((match.group(1),))
                last = match.end()
            if last < len(template):
                pieces.append(template[last:])
            parts = tuple(pieces)
            self._compiled[template] = parts
        return parts

    def fill(self, template: str, rng: random.Random, names: tuple[str, ...]) -> str:
        out = []
        for piece in self._parts(template):
            if isinstance(piece, str):
                out.append(piece)
            elif piece[0] == "name":
                out.append(rng.choice(names) if names else "Sam")
            elif piece[0] == "code":
                out.append(f"{rng.randrange(1_000_000):06d}")
            elif piece[0] == "code4":
                out.append(f"{rng.randrange(10_000):04d}")
            else:
                out.append(rng.choice(SLOT_VALUES[piece[0]]))
        return "".join(out)

    def line(self, rng: random.Random, topic: str, names: tuple[str, ...]) -> Line:
        """One line of a conversation about `topic`: mostly on topic, some small talk and jokes."""
        roll = rng.random()
        if roll < 0.55:
            template, funny = rng.choice(TOPICS[topic]), False
        elif roll < 0.6:
            template, funny = rng.choice(FUNNY), True
        else:
            template, funny = rng.choice(GENERIC), False
        text = self.fill(template, rng, names)
        if not funny and rng.random() < 0.08:
            text = f"{text} {rng.choice(SLOT_VALUES['emoji'])}"
        return Line(text, funny)

    def laughter(self, rng: random.Random) -> str:
        return rng.choice(LAUGHTER)

    def one_time_code(self, rng: random.Random) -> str:
        return self.fill(rng.choice(OTP_LINES), rng, ())
