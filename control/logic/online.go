package logic

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

// RoomCount is one room's cluster-wide member count; RoomID is the bare id
// (the part after "type://"), as goim's /goim/online/top reports it.
type RoomCount struct {
	RoomID string
	Count  int64
}

// Totals are the cluster-wide connection and distinct-IP counts.
type Totals struct {
	Conns int64
	IPs   int64
}

// RenewOnline stores one edge's room counts for Config.OnlineTTL and
// answers with the cluster-wide count of each room the edge reported (the
// edge only needs its own rooms, for heartbeat replies).
func (l *Logic) RenewOnline(ctx context.Context, req *logic.RenewOnlineReq) (*logic.RenewOnlineResp, error) {
	resp, err := l.renewOnline(ctx, req)
	if err != nil {
		renewOnlineTotal.WithLabelValues("error").Inc()
		return nil, err
	}
	renewOnlineTotal.WithLabelValues("ok").Inc()
	return resp, nil
}

func (l *Logic) renewOnline(ctx context.Context, req *logic.RenewOnlineReq) (*logic.RenewOnlineResp, error) {
	if req.GetServer() == "" {
		return nil, invalidf("renew online: server is required")
	}
	rooms := make(map[string]int32, len(req.RoomCount))
	for room, n := range req.RoomCount {
		if n > 0 { // an empty room must disappear, not linger at 0
			rooms[room] = n
		}
	}
	o := store.Online{
		Server:    req.Server,
		RoomCount: rooms,
		ConnCount: req.ConnCount,
		IPCount:   req.IpCount,
		Updated:   l.now(),
	}
	cctx, cancel := l.callCtx(ctx)
	defer cancel()
	if err := l.store.PutOnline(cctx, o, l.cfg.OnlineTTL); err != nil {
		return nil, fmt.Errorf("logic: renew online of %s: %w", req.Server, err)
	}
	all, err := l.loadRoomCounts(cctx)
	if err != nil {
		return nil, fmt.Errorf("logic: renew online of %s: %w", req.Server, err)
	}
	resp := &logic.RenewOnlineResp{
		AllRoomCount: make(map[string]int32, len(req.RoomCount)),
		StoreEpoch:   l.storeEpoch(ctx),
	}
	for room := range req.RoomCount {
		resp.AllRoomCount[room] = clampInt32(all[room])
	}
	return resp, nil
}

// TopRooms lists the rooms of type typ by member count, largest first
// (ties by id), at most limit of them; never nil.
func (l *Logic) TopRooms(ctx context.Context, typ string, limit int) ([]RoomCount, error) {
	if typ == "" {
		return nil, invalidf("type is required")
	}
	if limit <= 0 {
		return nil, invalidf("limit %d must be positive", limit)
	}
	all, err := l.roomCounts(ctx)
	if err != nil {
		return nil, err
	}
	prefix := typ + "://"
	top := make([]RoomCount, 0, min(limit, len(all)))
	for room, n := range all {
		if id, ok := strings.CutPrefix(room, prefix); ok && n > 0 {
			top = append(top, RoomCount{RoomID: id, Count: n})
		}
	}
	sort.Slice(top, func(i, j int) bool {
		if top[i].Count != top[j].Count {
			return top[i].Count > top[j].Count
		}
		return top[i].RoomID < top[j].RoomID
	})
	if len(top) > limit {
		top = top[:limit]
	}
	return top, nil
}

// RoomOnline counts the members of each named room of type typ, keyed by
// the bare room id; rooms nobody is in count 0.
func (l *Logic) RoomOnline(ctx context.Context, typ string, rooms []string) (map[string]int64, error) {
	if typ == "" {
		return nil, invalidf("type is required")
	}
	if len(rooms) == 0 {
		return nil, invalidf("rooms is required")
	}
	ids := make([]string, len(rooms))
	for i, r := range rooms {
		id, err := RoomID(typ, r)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	all, err := l.roomCounts(ctx)
	if err != nil {
		return nil, err
	}
	res := make(map[string]int64, len(rooms))
	for i, r := range rooms {
		res[r] = all[ids[i]]
	}
	return res, nil
}

// TotalOnline is the cluster-wide connection and IP count.
func (l *Logic) TotalOnline(ctx context.Context) (Totals, error) {
	cctx, cancel := l.callCtx(ctx)
	defer cancel()
	conns, ips, err := l.store.Totals(cctx)
	if err != nil {
		return Totals{}, fmt.Errorf("logic: online totals: %w", err)
	}
	return Totals{Conns: conns, IPs: ips}, nil
}

// roomCounts serves reads from a snapshot at most a second old: the
// online API may be polled hard, and every edge's report already lags by
// its renew interval, so a fresher answer would not be truer.
func (l *Logic) roomCounts(ctx context.Context) (map[string]int64, error) {
	l.roomsMu.Lock()
	if l.rooms != nil && l.now().Sub(l.roomsAt) < l.roomsFresh {
		rooms := l.rooms
		l.roomsMu.Unlock()
		return rooms, nil
	}
	l.roomsMu.Unlock()
	cctx, cancel := l.callCtx(ctx)
	defer cancel()
	return l.loadRoomCounts(cctx)
}

// loadRoomCounts reads the store and refreshes the snapshot. The snapshot
// map is never modified after it is published.
func (l *Logic) loadRoomCounts(ctx context.Context) (map[string]int64, error) {
	rooms, err := l.store.RoomCounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("logic: room counts: %w", err)
	}
	if rooms == nil {
		rooms = map[string]int64{}
	}
	l.roomsMu.Lock()
	l.rooms, l.roomsAt = rooms, l.now()
	l.roomsMu.Unlock()
	return rooms, nil
}

func clampInt32(n int64) int32 {
	switch {
	case n > math.MaxInt32:
		return math.MaxInt32
	case n < 0:
		return 0
	}
	return int32(n)
}
