package logic

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/protocol"
	"github.com/goim-edge/goim-edge/tracing"
)

// publishParallel bounds concurrent Publish calls of one keys/mids push
// that spans many edges, so a push to many edges costs a few round trips
// to a remote queue rather than one per edge.
const publishParallel = 16

// EnqueueKeys queues body for the given device keys: one message per edge
// holding any of them. Unknown keys are not an error (nothing to deliver).
// It returns the ids of the queued messages.
func (l *Logic) EnqueueKeys(ctx context.Context, op int32, keys []string, body []byte) ([]string, error) {
	e, err := l.EnqueueKeysAt(ctx, op, keys, body)
	return e.IDs, err
}

// EnqueueKeysAt is EnqueueKeys that also returns the message's position
// in the stream of each user (mid) of the keys, when user history is on.
func (l *Logic) EnqueueKeysAt(ctx context.Context, op int32, keys []string, body []byte) (Enqueued, error) {
	ctx, end := tracePush(ctx, "keys")
	e, err := l.enqueueKeys(ctx, op, keys, body)
	end(e.IDs, err)
	return e, countPush("keys", err)
}

func (l *Logic) enqueueKeys(ctx context.Context, op int32, keys []string, body []byte) (Enqueued, error) {
	if err := l.checkTargets("keys", len(keys)); err != nil {
		return Enqueued{}, err
	}
	keys = uniqueKeys(keys)
	if len(keys) == 0 {
		return Enqueued{}, invalidf("keys is required")
	}
	if err := firstErr(checkKeys(keys), checkOp(op), l.checkBody(body)); err != nil {
		return Enqueued{}, err
	}
	cctx, cancel := l.callCtx(ctx)
	servers, err := l.store.ServersByKeys(cctx, keys)
	cancel()
	if err != nil {
		return Enqueued{}, fmt.Errorf("logic: look up keys: %w", err)
	}
	if len(servers) < len(keys) && l.restoring(ctx) {
		return Enqueued{}, fmt.Errorf("logic: push to %d keys, %d without a route: %w", len(keys), len(keys)-len(servers), ErrRestoring)
	}
	unknownTargetsTotal.Add(float64(len(keys) - len(servers)))
	targets, err := l.keyTargets(ctx, keys)
	if err != nil {
		return Enqueued{}, err
	}
	return l.publishKeys(ctx, op, servers, body, targets)
}

// EnqueueMids queues body for every device of the given users: one message
// per edge holding any of their keys. Unknown mids are not an error.
func (l *Logic) EnqueueMids(ctx context.Context, op int32, mids []int64, body []byte) ([]string, error) {
	e, err := l.EnqueueMidsAt(ctx, op, mids, body)
	return e.IDs, err
}

// EnqueueMidsAt is EnqueueMids that also returns the message's position
// in each user's stream, when user history is on. Users without a
// connected device get it in their stream too.
func (l *Logic) EnqueueMidsAt(ctx context.Context, op int32, mids []int64, body []byte) (Enqueued, error) {
	ctx, end := tracePush(ctx, "mids")
	e, err := l.enqueueMids(ctx, op, mids, body)
	end(e.IDs, err)
	return e, countPush("mids", err)
}

func (l *Logic) enqueueMids(ctx context.Context, op int32, mids []int64, body []byte) (Enqueued, error) {
	if err := l.checkTargets("mids", len(mids)); err != nil {
		return Enqueued{}, err
	}
	mids = uniqueMids(mids)
	if len(mids) == 0 {
		return Enqueued{}, invalidf("mids is required")
	}
	if err := firstErr(checkOp(op), l.checkBody(body)); err != nil {
		return Enqueued{}, err
	}
	cctx, cancel := l.callCtx(ctx)
	servers, err := l.store.KeysByMids(cctx, mids)
	cancel()
	if err != nil {
		return Enqueued{}, fmt.Errorf("logic: look up mids: %w", err)
	}
	if missing, restoring := l.midsWithoutRoute(ctx, mids, servers); missing > 0 {
		if restoring {
			return Enqueued{}, fmt.Errorf("logic: push to %d mids, %d without a route: %w", len(mids), missing, ErrRestoring)
		}
		if len(servers) == 0 {
			unknownTargetsTotal.Add(float64(len(mids)))
		}
	}
	return l.publishKeys(ctx, op, servers, body, l.userTargets(mids))
}

// EnqueueRoom queues one message for room typ://room on every edge.
func (l *Logic) EnqueueRoom(ctx context.Context, op int32, typ, room string, body []byte) ([]string, error) {
	e, err := l.EnqueueRoomAt(ctx, op, typ, room, body)
	return e.IDs, err
}

// EnqueueRoomAt is EnqueueRoom that also returns the message's position
// in the room's stream, when rooms of typ keep history.
func (l *Logic) EnqueueRoomAt(ctx context.Context, op int32, typ, room string, body []byte) (Enqueued, error) {
	ctx, end := tracePush(ctx, "room")
	e, err := l.enqueueRoom(ctx, op, typ, room, body)
	end(e.IDs, err)
	return e, countPush("room", err)
}

func (l *Logic) enqueueRoom(ctx context.Context, op int32, typ, room string, body []byte) (Enqueued, error) {
	if err := checkOp(op); err != nil {
		return Enqueued{}, err
	}
	id, err := RoomID(typ, room)
	if err != nil {
		return Enqueued{}, err
	}
	if err := l.checkBody(body); err != nil {
		return Enqueued{}, err
	}
	msg := l.newMsg(common.PushKind_ROOM, op, body)
	msg.Room = id
	pos, err := l.appendHistory(ctx, l.roomTargets(typ, id), msg)
	if err != nil {
		return Enqueued{}, err
	}
	if err := l.publish(ctx, msg); err != nil {
		return Enqueued{}, err
	}
	return Enqueued{IDs: []string{msg.Id}, Positions: pos}, nil
}

// EnqueueAll queues one broadcast to every connection that accepts op;
// speed limits it to that many connections per second cluster-wide
// (0 = no limit).
func (l *Logic) EnqueueAll(ctx context.Context, op, speed int32, body []byte) ([]string, error) {
	ctx, end := tracePush(ctx, "all")
	ids, err := l.enqueueAll(ctx, op, speed, body)
	end(ids, err)
	return ids, countPush("all", err)
}

func (l *Logic) enqueueAll(ctx context.Context, op, speed int32, body []byte) ([]string, error) {
	if err := checkOp(op); err != nil {
		return nil, err
	}
	if speed < 0 {
		return nil, invalidf("speed %d must not be negative", speed)
	}
	if err := l.checkBody(body); err != nil {
		return nil, err
	}
	msg := l.newMsg(common.PushKind_BROADCAST, op, body)
	msg.Speed = speed
	if err := l.publish(ctx, msg); err != nil {
		return nil, err
	}
	return []string{msg.Id}, nil
}

// RoomID is goim's room key "type://id"; both parts are required, the
// type must not itself contain "://", so the id splits back unambiguously,
// and the whole must fit in protocol.MaxRoomID bytes, the longest room a
// device can be in.
func RoomID(typ, room string) (string, error) {
	switch {
	case typ == "":
		return "", invalidf("type is required")
	case room == "":
		return "", invalidf("room is required")
	case strings.Contains(typ, "://"):
		return "", invalidf("type %q must not contain \"://\"", typ)
	case len(typ)+len("://")+len(room) > protocol.MaxRoomID:
		return "", invalidf("room id %.32q… is longer than %d bytes", typ+"://"+room, protocol.MaxRoomID)
	}
	return typ + "://" + room, nil
}

// publishKeys appends the push to the streams of targets (history on),
// then sends one KEYS message per edge in servers (key → edge), each
// carrying the positions.
func (l *Logic) publishKeys(ctx context.Context, op int32, servers map[string]string, body []byte, targets []history.Target) (Enqueued, error) {
	var pos []history.Pos
	if len(targets) > 0 {
		var err error
		// The streams keep a push id of its own: the push becomes one
		// queue message per edge, each with its own id.
		if pos, err = l.appendHistory(ctx, targets, l.newMsg(common.PushKind_KEYS, op, body)); err != nil {
			return Enqueued{}, err
		}
	}
	if len(servers) == 0 {
		return Enqueued{IDs: []string{}, Positions: pos}, nil
	}
	byServer := make(map[string][]string, 1)
	for key, srv := range servers {
		byServer[srv] = append(byServer[srv], key)
	}
	msgs := make([]*common.PushMsg, 0, len(byServer))
	for srv, keys := range byServer {
		sort.Strings(keys)
		msg := l.newMsg(common.PushKind_KEYS, op, body)
		msg.Server, msg.Keys = srv, keys
		msg.Positions = streamPositions(pos)
		msgs = append(msgs, msg)
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].Server < msgs[j].Server })
	if len(msgs) == 1 {
		if err := l.publish(ctx, msgs[0]); err != nil {
			return Enqueued{}, err
		}
		return Enqueued{IDs: []string{msgs[0].Id}, Positions: pos}, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(publishParallel)
	for _, msg := range msgs {
		g.Go(func() error { return l.publish(gctx, msg) })
	}
	if err := g.Wait(); err != nil {
		return Enqueued{}, fmt.Errorf("%w (push to %d edges may be partly queued)", err, len(msgs))
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.Id
	}
	return Enqueued{IDs: ids, Positions: pos}, nil
}

func (l *Logic) newMsg(kind common.PushKind, op int32, body []byte) *common.PushMsg {
	return &common.PushMsg{
		Id:               uuid.NewString(),
		Kind:             kind,
		Op:               op,
		Body:             body,
		EnqueuedUnixNano: l.now().UnixNano(),
	}
}

func (l *Logic) publish(ctx context.Context, msg *common.PushMsg) error {
	ctx, span := traceEnqueue(ctx, msg)
	cctx, cancel := l.callCtx(ctx)
	defer cancel()
	err := l.queue.Publish(cctx, msg)
	if span != nil {
		tracing.End(span, err)
	}
	if err != nil {
		return fmt.Errorf("logic: enqueue %s push %s: %w", queue.KindLabel(msg.Kind), msg.Id, err)
	}
	enqueuedTotal.WithLabelValues(queue.KindLabel(msg.Kind)).Inc()
	return nil
}

// firstErr is the first non-nil error: checks listed in the order goim
// reports them.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func countPush(kind string, err error) error {
	if err != nil {
		pushErrorsTotal.WithLabelValues(kind, strconv.Itoa(int(Code(err)))).Inc()
		return err
	}
	pushesTotal.WithLabelValues(kind).Inc()
	return nil
}

// uniqueKeys drops empty and repeated keys, so a key named twice gets the
// message once.
func uniqueKeys(keys []string) []string {
	out := keys[:0:0]
	seen := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		if k == "" {
			continue
		}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		out = append(out, k)
	}
	return out
}

func uniqueMids(mids []int64) []int64 {
	out := mids[:0:0]
	seen := make(map[int64]struct{}, len(mids))
	for _, m := range mids {
		if _, dup := seen[m]; dup {
			continue
		}
		seen[m] = struct{}{}
		out = append(out, m)
	}
	return out
}

// midsWithoutRoute counts the mids that have no route, given what
// KeysByMids found for all of them, and says whether routes are being
// restored (read once, only when something may be missing). The route
// map does not say whose key is whose, so when several mids were asked
// and some routes found, one more read maps the found keys to their mids,
// only while routes are being restored (the one case where a partial
// miss changes the answer); otherwise such a push counts no mid as
// missing.
func (l *Logic) midsWithoutRoute(ctx context.Context, mids []int64, found map[string]string) (missing int, restoring bool) {
	if len(found) == 0 {
		return len(mids), l.restoring(ctx)
	}
	if len(mids) == 1 || !l.restoring(ctx) {
		return 0, false
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	cctx, cancel := l.callCtx(ctx)
	byKey, err := l.store.MidsByKeys(cctx, keys)
	cancel()
	if err != nil {
		return len(mids), true // cannot tell: refuse, the caller retries
	}
	have := make(map[int64]bool, len(byKey))
	for _, m := range byKey {
		have[m] = true
	}
	for _, m := range mids {
		if !have[m] {
			missing++
		}
	}
	return missing, true
}
