package obs

import (
	"log/slog"
	"regexp"
	"strings"
)

// Kitex and Hertz log preformatted lines such as
//
//	KITEX: processing request error, remoteService=x, remoteAddr=1.2.3.4:5, error=...
//	HERTZ: Error=read timeout, remoteAddr=1.2.3.4:5
//
// frameworkRecord turns such a line into a slog message with fields, so a
// log pipeline can filter on remote_addr or err instead of grepping text,
// and picks the level by cause: their ERROR covers a caller that sent a
// bad request or went away, which is not this process failing.

// fieldStart finds "key=" at the start, after ", ", a space or "[".
var fieldStart = regexp.MustCompile(`(?:^|[ ,\[\n])([A-Za-z][A-Za-z0-9_]*)=`)

// fieldNames maps the frameworks' keys to this project's log keys.
var fieldNames = map[string]string{
	"remoteAddr": "remote_addr", "remoteAddress": "remote_addr", "remote": "remote_addr",
	"remoteService": "remote_service", "rip": "remote_addr",
	"error": "err", "Error": "err", "err": "err",
	"addr": "addr", "stack": "stack",
}

// frameworkRecord splits a framework line into its message and fields and
// chooses its level; lvl is the level the framework logged it at.
func frameworkRecord(line string, lvl slog.Level) (string, slog.Level, []slog.Attr) {
	line = strings.TrimSpace(line)
	for _, p := range []string{"KITEX: ", "HERTZ: "} {
		line = strings.TrimPrefix(line, p)
	}
	msg, attrs, errText := splitFields(line)
	if msg == "" && errText != "" {
		// Hertz's EngineErrorFormat: an error serving one connection.
		msg = "connection error"
	}
	return msg, levelByCause(msg, errText, lvl), attrs
}

// splitFields cuts line at its first key=value field. An error value runs
// to the end of the line (or to a stack, or a last remote address), since
// error texts contain commas, spaces and sometimes "=" themselves.
func splitFields(line string) (msg string, attrs []slog.Attr, errText string) {
	locs := fieldStart.FindAllStringSubmatchIndex(line, -1)
	if len(locs) == 0 {
		return line, nil, ""
	}
	msg = strings.TrimRight(line[:locs[0][0]], " ,:")
	for i := 0; i < len(locs); i++ {
		key := line[locs[i][2]:locs[i][3]]
		start, end := locs[i][1], len(line)
		name := fieldNames[key]
		if name == "" {
			name = key
		}
		if name == "err" {
			// Only a stack, or a remote address as the line's last field
			// (Hertz's "Error=%s, remoteAddr=%s"), ends an error value.
			j := i + 1
			for j < len(locs) {
				k := line[locs[j][2]:locs[j][3]]
				if k == "stack" || (j == len(locs)-1 && fieldNames[k] == "remote_addr") {
					break
				}
				j++
			}
			if j < len(locs) {
				end = locs[j][0]
			}
			i = j - 1
		} else if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		value := strings.TrimRight(line[start:end], " ,\n")
		if name == "err" {
			errText = value
		}
		if value != "" {
			attrs = append(attrs, slog.String(name, value))
		}
	}
	return msg, attrs, errText
}

// Causes that are the caller's, not this process's, by where the line
// comes from. A Kitex "processing request error" also carries errors
// from this process's own handlers (a Redis timeout in Connect), so only
// connection-level and refusal texts count there.
var (
	// Hertz serving one connection: everything it logs there was read
	// from the client, who went away, stalled or sent a broken request.
	hertzPeerGone    = []string{"EOF", "connection reset", "broken pipe", "connection closed", "use of closed network connection", "timeout", "timed out"}
	hertzPeerMistake = []string{"malformed", "cannot parse", "cannot find", "body size exceeds", "too large", "invalid", "unsupported", "error when reading request headers"}
	// Kitex serving one call.
	kitexPeerGone    = []string{"EOF", "connection reset", "broken pipe", "connection closed", "use of closed network connection", "closed by peer"}
	kitexPeerMistake = []string{"rpcauth:", "unknown method", "unknown service", "protocol error", "invalid request"}
)

// levelByCause lowers a framework's Warn or Error to Debug when the peer
// went away (routine on any public port) and to Warn when the peer sent
// something refused; counted metrics (goim_rpc_auth_refused_total,
// goim_rpc_payload_refused_total, goim_logic_http_requests_total) say how
// often. Anything else, and every Fatal, keeps the framework's level.
func levelByCause(msg, errText string, lvl slog.Level) slog.Level {
	if lvl < slog.LevelWarn || lvl >= levelFatal || errText == "" {
		return lvl
	}
	var gone, mistake []string
	switch {
	case msg == "connection error" || strings.HasPrefix(msg, "error when reading"):
		gone, mistake = hertzPeerGone, hertzPeerMistake
	case msg == "processing request error":
		gone, mistake = kitexPeerGone, kitexPeerMistake
	default:
		return lvl
	}
	for _, s := range gone {
		if strings.Contains(errText, s) {
			return slog.LevelDebug
		}
	}
	for _, s := range mistake {
		if strings.Contains(errText, s) {
			return min(lvl, slog.LevelWarn)
		}
	}
	return lvl
}
