-- find_by_link runs for nearly every new mention (the pipeline's dedupe), as often as
-- mentions are inserted. With GIN's fastupdate, recent inserts wait in a pending list
-- that every search reads through until a vacuum merges it (up to 4 MB): lookups grew
-- from under 1 ms to several ms with every few thousand mentions stored. Without it,
-- an insert updates the index at once (a little slower) and a lookup stays fast.
ALTER INDEX mentions_urls SET (fastupdate = off);
SELECT gin_clean_pending_list('mentions_urls'::regclass);
