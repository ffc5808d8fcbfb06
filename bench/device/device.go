// Package device is the bench's simulated device: one goim connection over
// TCP or WebSocket that authenticates, heartbeats and hands every pushed
// frame to a Handler. It speaks goim v2 exactly as goim's own clients do,
// so it can load any goim-compatible server.
//
// A TCP device is read by one of two engines (Options.Engine): the
// process's epoll loops (EnginePoll, the default: no goroutine and no
// buffer per idle device, about 200 bytes of Go heap; a frame split across
// reads costs that device a buffer of the frame's size until it is whole),
// or a goroutine of its own with a 4 KiB read buffer (EngineGoroutine,
// about 10 KiB per idle device). WebSocket devices always use a
// goroutine. A device accepts server frames of up to 1 MiB. Linux only
// (epoll, IP_BIND_ADDRESS_NO_PORT).
package device

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/goim-edge/goim-edge/protocol"
)

// Transports a device can use.
const (
	TCP = "tcp"
	WS  = "ws"
)

// maxServerFrame bounds what a device accepts from the server. Server
// frames are not bound by the 4 KiB client limit: a WebSocket OpRaw batch
// carries many pushes in one message.
const maxServerFrame = 1 << 20

// Options says where and how a device connects.
type Options struct {
	// Transport is TCP or WS.
	Transport string
	// Addr is host:port for TCP, a ws:// URL (path /sub) for WS.
	Addr string
	// Source is the local IP to dial from (nil: the kernel picks). Spreading
	// devices over 127.0.0.x sources lifts the ~28k ephemeral ports per
	// source address.
	Source net.IP
	// Timeout bounds dial plus auth.
	Timeout time.Duration
	// Resume, when set, opts the device into recovery: it is sent as op
	// 26 right before the auth frame, and the Handler should implement
	// Recovery to see positions and verdicts.
	Resume *protocol.ResumeRequest
	// Compress offers permessage-deflate (WS only), as browsers do.
	Compress bool
	// Engine reads a TCP device: EnginePoll ("" too) or EngineGoroutine.
	// WebSocket devices ignore it.
	Engine string
}

// Handler receives what a device reads after auth, on the device's reader
// goroutine (EnginePoll: on its loop). Calls for one device are never
// concurrent. body aliases the read buffer and is valid only during the
// call.
type Handler interface {
	// Push is called for every server push (op >= 1000, or any op the
	// device does not itself handle), including each inner frame of an
	// OpRaw batch.
	Push(op int32, body []byte)
	// HeartbeatReply is called with the room online count a heartbeat
	// reply carries.
	HeartbeatReply(online int32)
}

// Conn is an authenticated device connection.
type Conn interface {
	// Heartbeat sends one heartbeat frame (op 2). Safe to call from another
	// goroutine than Serve's.
	Heartbeat() error
	// Serve reads until the connection ends and returns why; a Close by us
	// returns net.ErrClosed (wrapped).
	Serve(h Handler) error
	// Start serves in the background, without a goroutine per device on
	// EnginePoll, and calls done once with what Serve would have
	// returned. Call either Serve or Start, once.
	Start(h Handler, done func(error))
	// Close closes the connection.
	Close() error
	// Reads is how many reads Serve made (TCP reads from the socket, or
	// WebSocket messages), auth included: deliveries per read shows how
	// the server batches. Read it after Serve returned.
	Reads() int64
}

// ErrAuthRefused means the server closed the connection instead of
// replying to auth (goim's way of refusing a token).
var ErrAuthRefused = errors.New("device: auth refused (connection closed)")

// Connect dials, authenticates with tok and returns once the auth reply
// arrived.
func Connect(ctx context.Context, o Options, tok Token) (Conn, error) {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	body, err := tok.Marshal()
	if err != nil {
		return nil, err
	}
	resume, err := resumeFrame(o.Resume)
	if err != nil {
		return nil, err
	}
	switch o.Transport {
	case TCP, "":
		switch o.Engine {
		case EngineGoroutine:
			return connectTCP(ctx, o, resume, body)
		case EnginePoll, "":
			return connectPoll(ctx, o, resume, body)
		default:
			return nil, fmt.Errorf("device: unknown engine %q (want %s or %s)", o.Engine, EngineGoroutine, EnginePoll)
		}
	case WS:
		return connectWS(ctx, o, resume, body)
	default:
		return nil, fmt.Errorf("device: unknown transport %q (want %s or %s)", o.Transport, TCP, WS)
	}
}

func dialer(o Options) *net.Dialer {
	d := &net.Dialer{Timeout: o.Timeout, KeepAlive: -1}
	if o.Source != nil {
		d.LocalAddr = &net.TCPAddr{IP: o.Source}
		d.Control = bindNoPort
	}
	return d
}

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT: binding to a source IP then
// leaves the port to connect(), which needs only the 4-tuple to be unique.
// Without it bind() must find a port free on that IP for every
// destination, which slows to a crawl once earlier runs leave thousands
// of connections in TIME_WAIT.
func bindNoPort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("device: IP_BIND_ADDRESS_NO_PORT: %w", serr)
	}
	return nil
}

// authSeq is the seq of the auth frame; the reply must echo it.
const authSeq = 1

// dispatch hands one server frame to h. OpRaw bodies are split into their
// inner frames: goim's WebSocket path always wraps batches, and a TCP server
// may wrap them too although goim's writes them unwrapped. Op-28 frames
// are unwrapped to the push they carry, their position going to rec first
// (rec nil: the device does not track positions).
func dispatch(f protocol.Frame, h Handler, rec Recovery) error {
	switch f.Op {
	case protocol.OpHeartbeatReply:
		if len(f.Body) >= 4 {
			h.HeartbeatReply(int32(binary.BigEndian.Uint32(f.Body)))
		} else {
			h.HeartbeatReply(0)
		}
	case protocol.OpRaw:
		return protocol.SplitRaw(f.Body, func(in protocol.Frame) error {
			if in.Op == protocol.OpRaw {
				return fmt.Errorf("device: OpRaw nested in OpRaw")
			}
			return dispatch(in, h, rec)
		})
	case protocol.OpPositioned:
		p, err := splitPositioned(f.Body)
		if err != nil {
			return fmt.Errorf("device: %w", err)
		}
		if rec != nil {
			rec.Position(p.stream, p.epoch, p.offset)
		}
		h.Push(p.op, p.body)
	case protocol.OpResumeReply:
		if rec != nil {
			rec.ResumeReply(f.Body)
		}
	case protocol.OpAuthReply, protocol.OpSendMsgReply, protocol.OpChangeRoomReply,
		protocol.OpSubReply, protocol.OpUnsubReply, protocol.OpJoinRoomReply, protocol.OpLeaveRoomReply,
		protocol.OpAckReply:
		// Replies to requests the bench does not make after auth.
	default:
		h.Push(f.Op, f.Body)
	}
	return nil
}
