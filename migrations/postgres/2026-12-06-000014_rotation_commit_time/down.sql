DROP TRIGGER refresh_rotation_committed ON refresh_tokens;
DROP FUNCTION refresh_rotation_committed();
