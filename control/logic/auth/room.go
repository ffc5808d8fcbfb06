package auth

import (
	"fmt"
	"github.com/goim-edge/goim-edge/protocol"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what a token may name. They keep route keys, queue messages and
// HTTP parameters small and printable whatever a client sends.
const (
	maxRooms   = 64
	maxRoomLen = protocol.MaxRoomID
	maxKeyLen  = protocol.MaxKey
)

// checkRoom accepts goim's "type://id" with a non-empty type of letters,
// digits, '_', '-' or '.', and a non-empty printable id.
func checkRoom(room string) error {
	typ, id, ok := strings.Cut(room, "://")
	if !ok || typ == "" || id == "" {
		return fmt.Errorf("room %q is not type://id", room)
	}
	if len(room) > maxRoomLen {
		return fmt.Errorf("room %.32q… longer than %d bytes", room, maxRoomLen)
	}
	for _, r := range typ {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.')) {
			return fmt.Errorf("room %q: type has %q", room, r)
		}
	}
	if err := checkPrintable(id); err != nil {
		return fmt.Errorf("room %q: id %w", room, err)
	}
	return nil
}

// checkKey accepts a printable key without spaces (it travels in URLs and
// store keys), up to maxKeyLen bytes.
func checkKey(key string) error {
	if len(key) > maxKeyLen {
		return fmt.Errorf("key longer than %d bytes", maxKeyLen)
	}
	if err := checkPrintable(key); err != nil {
		return fmt.Errorf("key %q: %w", key, err)
	}
	return nil
}

func checkPrintable(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not UTF-8")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("has %q", r)
		}
	}
	return nil
}

// roomSet merges rooms in order of first appearance, dropping empties
// (goim's "" means no room) and duplicates, and checks each.
func roomSet(lists ...[]string) ([]string, error) {
	var out []string
	for _, list := range lists {
		for _, room := range list {
			if room == "" || contains(out, room) {
				continue
			}
			if err := checkRoom(room); err != nil {
				return nil, err
			}
			if len(out) == maxRooms {
				return nil, fmt.Errorf("more than %d rooms", maxRooms)
			}
			out = append(out, room)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// grantSet is a restricted identity's grants: the rooms it joins, then
// the patterns its token or backend lists, deduplicated. A pattern is a
// room id, or a prefix ending in "*" whose part before the star is
// printable.
func grantSet(rooms, patterns []string) ([]string, error) {
	out := make([]string, 0, len(rooms)+len(patterns))
	out = append(out, rooms...)
	for _, g := range patterns {
		if g == "" || contains(out, g) {
			continue
		}
		if prefix, ok := strings.CutSuffix(g, "*"); ok {
			if len(g) > maxRoomLen {
				return nil, fmt.Errorf("room grant %.32q… longer than %d bytes", g, maxRoomLen)
			}
			if err := checkPrintable(prefix); err != nil {
				return nil, fmt.Errorf("room grant %q: %w", g, err)
			}
		} else if err := checkRoom(g); err != nil {
			return nil, fmt.Errorf("room grant: %w", err)
		}
		if len(out) == maxGrants {
			return nil, fmt.Errorf("more than %d room grants", maxGrants)
		}
		out = append(out, g)
	}
	return out, nil
}

// maxGrants bounds the grants of one identity (rooms included).
const maxGrants = 2 * maxRooms
