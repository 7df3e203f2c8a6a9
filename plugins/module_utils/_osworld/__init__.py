# This module util is PRIVATE to the collection. It may change without notice.
