"""NSArchiver typedstreams: a generic reader (object graph) and writer, plus the basic Foundation
values (NSString, NSNumber, NSURL, NSDictionary, NSArray, NSData). Knows nothing of Messages."""

from backend.source.typedstream.reader import (
    Class,
    Object,
    TruncatedBytes,
    TypedGroup,
    TypedStreamError,
    TypedStreamReader,
    foundation_value,
    read_typedstream,
)
from backend.source.typedstream.writer import (
    ATTRIBUTED_STRING_CLASS,
    MUTABLE_ATTRIBUTED_STRING_CLASS,
    URL,
    TypedStreamWriter,
    encode_int,
)

__all__ = [
    "ATTRIBUTED_STRING_CLASS",
    "Class",
    "MUTABLE_ATTRIBUTED_STRING_CLASS",
    "Object",
    "TruncatedBytes",
    "TypedGroup",
    "TypedStreamError",
    "TypedStreamReader",
    "TypedStreamWriter",
    "URL",
    "encode_int",
    "foundation_value",
    "read_typedstream",
]
