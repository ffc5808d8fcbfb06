package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/goim-edge/goim-edge/client"
	"github.com/goim-edge/goim-edge/protocol"
)

// Connect over TCP with goim's JSON token and print every push.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{
		Addrs: []string{"127.0.0.1:3101"},
		Token: client.JSONToken{Mid: 123, RoomID: "live://1000", Platform: "android", Accepts: []int32{1000, 1001}}.Bytes(),
		OnMessage: func(m client.Message) {
			fmt.Printf("op %d: %s\n", m.Op, m.Body)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(context.Background())
	<-c.Done() // runs (and reconnects) until Close or a refused token
}

// Take the edges from logic's node list and connect over WebSocket,
// showing the connection state as a UI would.
func ExampleDial_nodes() {
	c, err := client.Dial(context.Background(), client.Options{
		NodesURL:  "http://127.0.0.1:3111/goim/nodes/weighted?platform=android",
		Transport: client.WS,
		Token:     []byte("eyJhbGciOi..."), // a JWT when logic's auth mode is jwt
		OnState: func(e client.Event) {
			switch e.State {
			case client.Connected:
				fmt.Println("connected to", e.Addr)
			case client.Reconnecting:
				fmt.Printf("reconnecting in %v (attempt %d): %v\n", e.Delay, e.Attempt, e.Err)
			case client.Stopped:
				fmt.Println("stopped:", e.Err)
			}
		},
	})
	if errors.Is(err, client.ErrAuthRefused) {
		log.Fatal("token refused: get a new one")
	}
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(context.Background())
}

// Join a second room (a goim-edge extension) and handle a refusal.
func ExampleClient_JoinRoom() {
	c, err := client.Dial(context.Background(), client.Options{
		Addrs: []string{"ws://127.0.0.1:3102/sub"},
		Token: client.JSONToken{Mid: 1, RoomID: "live://1000"}.Bytes(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch err := c.JoinRoom(ctx, "chat://42"); {
	case errors.Is(err, client.ErrRoomRefused):
		fmt.Println("not allowed in chat://42")
	case err != nil:
		fmt.Println("join failed:", err)
	}
}

// Send an upstream message and wait for the server's reply.
func ExampleClient_Send() {
	c, err := client.Dial(context.Background(), client.Options{
		Addrs: []string{"127.0.0.1:3101"},
		Token: client.JSONToken{Mid: 1}.Bytes(),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Send(ctx, []byte(`{"text":"hi"}`)); err != nil {
		fmt.Println("send:", err)
	}
	// Close waits for the client's goroutines, at most until ctx ends.
	if err := c.Close(ctx); err != nil {
		fmt.Println("close:", err)
	}
}

// The delay before each retry: uniform between Min and a ceiling that
// doubles from Initial up to Max.
func ExampleBackoff_Delay() {
	b := client.DefaultBackoff
	for n := 0; n < 8; n++ {
		fmt.Println(n, b.Delay(n, 0), b.Delay(n, 1))
	}
	// Output:
	// 0 100ms 3s
	// 1 100ms 6s
	// 2 100ms 12s
	// 3 100ms 24s
	// 4 100ms 48s
	// 5 100ms 1m36s
	// 6 100ms 2m0s
	// 7 100ms 2m0s
}

// Resume after reconnects and restarts without missing or repeating a
// message (docs/recovery.md): positions saved by the previous run are
// passed back, the user stream is acknowledged as messages are
// processed, and streams that could not be fully recovered are reported.
func ExampleRecoveryOptions() {
	var saved []protocol.StreamPos
	if b, err := os.ReadFile("positions.json"); err == nil {
		_ = json.Unmarshal(b, &saved)
	}
	c, err := client.Dial(context.Background(), client.Options{
		Addrs: []string{"127.0.0.1:3101"},
		Token: client.JSONToken{Mid: 123, RoomID: "live://1000", Accepts: []int32{1000}}.Bytes(),
		Recovery: &client.RecoveryOptions{
			Positions: saved,
			Mid:       123,  // resume the user stream from the user's ack when no position is saved
			AutoAck:   true, // op 29 after processing: at most every second, and every 100 messages
		},
		OnMessage: func(m client.Message) {
			fmt.Printf("%s #%d op %d: %s\n", m.Stream, m.Offset, m.Op, m.Body)
		},
		OnState: func(e client.Event) {
			if e.State != client.Resumed {
				return
			}
			for _, v := range e.Verdicts {
				if !v.Recovered {
					// gap, epoch, limit: messages were lost; reload from the backend.
					// unavailable: try again later with c.Resume.
					fmt.Printf("%s not recovered: %s\n", v.Stream, v.Reason)
				}
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		_ = c.Close(context.Background())
		b, _ := json.Marshal(c.Positions()) // what OnMessage has processed
		_ = os.WriteFile("positions.json", b, 0o600)
	}()
	fmt.Println("duplicates dropped so far:", c.Stats().Duplicates)
}
