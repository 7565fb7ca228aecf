"""The columns the demo source fills in chat.db's message table, and the vocabulary of its rows."""

from __future__ import annotations

from typing import Any

MESSAGE_COLUMNS = (
    "ROWID", "guid", "text", "handle_id", "service", "account", "account_guid", "date", "date_read",
    "date_delivered", "is_delivered", "is_finished", "is_from_me", "is_read", "is_sent",
    "is_audio_message", "is_played", "date_played", "cache_has_attachments", "cache_roomnames",
    "item_type", "other_handle", "group_title", "group_action_type", "associated_message_guid",
    "associated_message_type", "associated_message_range_location", "associated_message_range_length",
    "associated_message_emoji", "balloon_bundle_id", "payload_data", "expressive_send_style_id",
    "message_summary_info", "destination_caller_id", "reply_to_guid", "thread_originator_guid",
    "thread_originator_part", "date_retracted", "date_edited", "part_count", "attributedBody",
    "version", "was_data_detected", "has_dd_results", "ck_sync_state", "sort_id",
)
C = {name: index for index, name in enumerate(MESSAGE_COLUMNS)}
DEFAULT_ROW: list[Any] = [None] * len(MESSAGE_COLUMNS)
for _name in ("handle_id", "date_read", "date_delivered", "is_delivered", "is_finished", "is_from_me",
              "is_read", "is_sent", "is_audio_message", "is_played", "date_played", "cache_has_attachments",
              "item_type", "other_handle", "group_action_type", "associated_message_type",
              "associated_message_range_location", "associated_message_range_length", "date_retracted",
              "date_edited", "was_data_detected", "has_dd_results", "sort_id"):
    DEFAULT_ROW[C[_name]] = 0
DEFAULT_ROW[C["version"]] = 10
DEFAULT_ROW[C["ck_sync_state"]] = 1

URL_BALLOON = "com.apple.messages.URLBalloonProvider"
APPLE_PAY = ("com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:"
             "com.apple.PassbookUIService.PeerPaymentMessagesExtension")
POLLS = "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.messages.Polls"
EFFECTS = ("com.apple.MobileSMS.expressivesend.impact", "com.apple.MobileSMS.expressivesend.loud",
           "com.apple.MobileSMS.expressivesend.gentle", "com.apple.MobileSMS.expressivesend.invisibleink",
           "com.apple.messages.effect.CKConfettiEffect", "com.apple.messages.effect.CKHappyBirthdayEffect",
           "com.apple.messages.effect.CKFireworksEffect", "com.apple.messages.effect.CKHeartEffect",
           "com.apple.messages.effect.CKEchoEffect", "com.apple.messages.effect.CKSpotlightEffect")
TAPBACK_VERBS = ("Loved", "Liked", "Disliked", "Laughed at", "Emphasized", "Questioned")
TAPBACK_REMOVALS = ("Removed a heart from", "Removed a like from", "Removed a dislike from",
                    "Removed a laugh from", "Removed an exclamation from", "Removed a question mark from")
TAPBACK_WEIGHTS = (32, 28, 3, 8, 12, 6, 8)  # love, like, dislike, laugh, emphasize, question, emoji
TAPBACK_EMOJI = ("🔥", "😂", "🙏", "❤️‍🔥", "👀", "🥹", "💀", "🎉", "😮", "🫶")
