// Package rpcauth guards goim-edge's Kitex services (Edge on the edge,
// Logic and Push on logic) with a shared secret and a payload size limit,
// and gives Kitex clients, in this project or in an application backend
// built on kitex_gen, the options that carry the secret.
//
//	cli, err := pushsvc.NewClient("goim.logic",
//		append(rpcauth.ClientOptions(os.Getenv("GOIM_RPC_SECRET")),
//			client.WithHostPorts("10.0.0.10:3119"))...)
//
// Guarantees of a server built with ServerOptions:
//   - With a secret configured, every call is checked before any
//     middleware added after these options and before the handler runs. A
//     call that carries no secret, or one that matches neither
//     Config.Secret nor any of Config.PreviousSecrets, is refused with a
//     *RefusedError (IsRefused on the caller's side recognises it by its
//     type id, never by its text), counted in
//     goim_rpc_auth_refused_total{service,reason}, and the connection
//     stays usable for the caller's next call.
//   - The presented value is compared with every accepted secret in time
//     that depends on neither the secret's contents nor its length (both
//     sides are hashed with SHA-256, the digests compared with
//     crypto/subtle, and every accepted secret is always compared).
//   - Every message is framed: its size is known from its header before
//     its body is read, and a message larger than Config.MaxPayloadBytes
//     (or an unframed one, whose size is unknown until it has been read)
//     is refused without reading its body. That caller's connection is
//     closed; other connections are not affected. Refusals are counted in
//     goim_rpc_payload_refused_total{server,reason}.
//
// # Carrier
//
// The secret travels in a TTHeader string header (HeaderKey) written by a
// client MetaHandler and read by a server MetaHandler; the middleware then
// checks it. Why TTHeader rather than Kitex's metainfo in the context:
//   - it is written into every request by the client itself, so no caller
//     can forget it on some context (retries, background calls and
//     probes included), and it costs no context allocation per call;
//   - the server never copies it into the request context's metainfo, so
//     a handler that calls another service cannot forward it by accident;
//   - TTHeader is framed, which the size limit needs (see above), and any
//     Kitex server decodes it without configuration.
//
// The secret is sent in clear text: it keeps strangers who can reach a
// port from calling it, not an on-path attacker from reading it. Run the
// RPC ports on a private network (or a VPN/WireGuard mesh) as well.
//
// # Rotation
//
// Every process is both a client (it sends Secret) and a server (it
// accepts Secret and PreviousSecrets), so a new secret is rolled out in
// three restarts of every node, none of which refuses a call:
//  1. accept the new one everywhere: previous_secrets = [new] (secret
//     stays old);
//  2. send the new one everywhere: secret = new, previous_secrets = [old];
//     switch application backends' Push clients to the new secret;
//  3. stop accepting the old one: previous_secrets = [].
//
// # Without a secret
//
// A server without a secret accepts every call; ListenAddr then keeps its
// port on loopback (127.0.0.1), the rule goim-edge applies to its HTTP
// push API without an api_key.
package rpcauth
