DROP TRIGGER refresh_rotation_successor ON refresh_tokens;
DROP FUNCTION refresh_rotation_successor();
