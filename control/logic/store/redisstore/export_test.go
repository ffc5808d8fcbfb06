package redisstore

import "context"

// SetUserForTest creates an ACL user allowed everything (tests only).
func SetUserForTest(ctx context.Context, s *Store, user, password string) error {
	return s.rdb.Do(ctx, "ACL", "SETUSER", user, "on", ">"+password, "~*", "&*", "+@all").Err()
}

// FlushAllForTest empties the whole Redis (tests only).
func FlushAllForTest(ctx context.Context, s *Store) error {
	return s.rdb.FlushAll(ctx).Err()
}
