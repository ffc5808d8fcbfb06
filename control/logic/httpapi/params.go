package httpapi

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudwego/hertz/pkg/app"

	"github.com/goim-edge/goim-edge/control/logic"
)

// Query parameters as goim reads them (gin's BindQuery), plus comma lists.

// query reads a request's parameters one after another and keeps the
// first error, so a handler checks once and answers with the first bad
// parameter, as goim does.
type query struct {
	c   *app.RequestContext
	err error
}

// param reads name with read unless an earlier parameter was bad; then
// it returns the zero value.
func param[T any](q *query, name string, read func(*app.RequestContext, string) (T, error)) T {
	var v T
	if q.err == nil {
		v, q.err = read(q.c, name)
	}
	return v
}

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{logic.ErrInvalid}, args...)...)
}

// requiredString is a non-empty query parameter.
func requiredString(c *app.RequestContext, name string) (string, error) {
	v := string(c.QueryArgs().Peek(name))
	if v == "" {
		return "", badf("%s is required", name)
	}
	return v, nil
}

// requiredInt32 is a present, numeric query parameter.
func requiredInt32(c *app.RequestContext, name string) (int32, error) {
	raw := c.QueryArgs().Peek(name)
	if len(raw) == 0 {
		return 0, badf("%s is required", name)
	}
	return parseInt32(name, raw)
}

// optionalInt32 is a numeric query parameter that defaults to 0.
func optionalInt32(c *app.RequestContext, name string) (int32, error) {
	raw := c.QueryArgs().Peek(name)
	if len(raw) == 0 {
		return 0, nil
	}
	return parseInt32(name, raw)
}

func parseInt32(name string, raw []byte) (int32, error) {
	n, err := strconv.ParseInt(string(raw), 10, 32)
	if err != nil {
		return 0, badf("%s %q is not a 32-bit integer", name, raw)
	}
	return int32(n), nil
}

// list gathers a slice parameter given repeated (keys=a&keys=b), as a comma
// list (keys=a,b) or both; blanks are dropped.
func list(c *app.RequestContext, name string) []string {
	var out []string
	for _, v := range c.QueryArgs().PeekAll(name) {
		for _, s := range strings.Split(string(v), ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func requiredList(c *app.RequestContext, name string) ([]string, error) {
	out := list(c, name)
	if len(out) == 0 {
		return nil, badf("%s is required", name)
	}
	return out, nil
}

func requiredInt64List(c *app.RequestContext, name string) ([]int64, error) {
	strs, err := requiredList(c, name)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(strs))
	for i, s := range strs {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, badf("%s: %q is not a 64-bit integer", name, s)
		}
		out[i] = n
	}
	return out, nil
}

// body is a copy of the raw request body (any content type, as goim): the
// queue keeps it after the request's buffers are reused.
func body(c *app.RequestContext, limit int) ([]byte, error) {
	b := c.Request.Body()
	switch {
	case len(b) == 0:
		return nil, badf("message body is empty")
	case limit > 0 && len(b) > limit:
		return nil, badf("message body of %d bytes is over the %d byte limit", len(b), limit)
	}
	return append([]byte(nil), b...), nil
}
