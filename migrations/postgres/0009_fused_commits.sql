-- A command's commit can be one statement (see eventstore/src/fuse.rs): its side writes
-- that must change exactly one row are checked inside it, and a failed check raises,
-- rolling the whole statement back. The message carries the check's code.
CREATE FUNCTION authio_require(ok BOOLEAN, code TEXT) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = code;
    END IF;
    RETURN TRUE;
END
$$;
