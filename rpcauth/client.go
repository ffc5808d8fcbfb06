package rpcauth

import (
	"context"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/remote"
	"github.com/cloudwego/kitex/transport"
)

// HeaderKey is the TTHeader string header that carries the secret.
const HeaderKey = "goim-rpc-secret"

// ClientOptions are the options a Kitex client needs to call a goim-edge
// server: the TTHeader transport (framed, and able to carry the header)
// and a MetaHandler that writes secret into every request, retries
// included. An empty secret sends none, for servers that check none.
// Append the caller's own options after these, and leave the transport
// alone: a client moved back to Framed or Buffered cannot carry the
// secret.
func ClientOptions(secret string) []client.Option {
	return []client.Option{
		client.WithTransportProtocol(transport.TTHeader),
		client.WithMetaHandler(clientHandler(secret)),
	}
}

// clientHandler writes secret into each request's TTHeader strings.
func clientHandler(secret string) remote.MetaHandler {
	return remote.NewCustomMetaHandler(remote.WithWriteMeta(
		func(ctx context.Context, msg remote.Message) (context.Context, error) {
			if secret == "" {
				return ctx, nil
			}
			ti := msg.TransInfo()
			// Write into the message's own map: PutTransStrInfo would keep
			// a map passed to it, and the message pool clears it later.
			if m := ti.TransStrInfo(); m != nil {
				m[HeaderKey] = secret
			} else {
				ti.PutTransStrInfo(map[string]string{HeaderKey: secret})
			}
			return ctx, nil
		}))
}
