package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/app/server"
)

// Codes of the answers for requests no route takes. goim answers them
// with gin's 404 text; goim's clients never send them, so answering in
// the envelope instead breaks no client and lets every caller parse
// every answer.
const (
	// CodeNotFound answers a path no route serves (HTTP 404).
	CodeNotFound = -404
	// CodeMethodNotAllowed answers a served path asked with another
	// method (HTTP 405, with an Allow header).
	CodeMethodNotAllowed = -405
)

// registerFallbacks makes h answer unknown routes and wrong methods in
// the envelope. It covers every route of h, also those registered after
// Register (/healthz, the demo page).
func registerFallbacks(h *server.Hertz) {
	// Without this Hertz answers a wrong method like an unknown path (404).
	// The option is read per request, so setting it before Run suffices.
	h.GetOptions().HandleMethodNotAllowed = true
	h.NoRoute(func(_ context.Context, c *app.RequestContext) {
		writeCode(c, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no route %s", c.Path()))
	})
	h.NoMethod(func(_ context.Context, c *app.RequestContext) {
		allowed := allowedMethods(h, string(c.Path()))
		c.Response.Header.Set("Allow", strings.Join(allowed, ", "))
		writeCode(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed,
			fmt.Sprintf("%s %s: method not allowed (allowed: %s)", c.Method(), c.Path(), strings.Join(allowed, ", ")))
	})
}

// allowedMethods lists the methods h serves path with. Only a wrong
// method pays for the walk over the routes, and every route here is a
// static path, so an exact match is the whole lookup.
func allowedMethods(h *server.Hertz, path string) []string {
	var out []string
	for _, r := range h.Routes() {
		if r.Path == path {
			out = append(out, r.Method)
		}
	}
	return out
}
