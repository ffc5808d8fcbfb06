package app

import (
	"errors"
	"fmt"
	"net"
	"os"
)

// listen binds addr for a role's named port. Its error names the role,
// the port and the cause, without the standard library's repetition:
// "logic: listen rpc 127.0.0.1:3119: address already in use". The
// original error stays reachable (errors.Is(err, syscall.EADDRINUSE)).
func listen(role, name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &listenError{role: role, name: name, addr: addr, err: err}
	}
	return ln, nil
}

// listenError is a failed bind of one of a role's ports.
type listenError struct {
	role, name, addr string
	err              error
}

func (e *listenError) Error() string {
	return fmt.Sprintf("%s: listen %s %s: %s", e.role, e.name, e.addr, bindCause(e.err))
}

func (e *listenError) Unwrap() error { return e.err }

// bindCause is the innermost reason of a failed net.Listen ("address
// already in use", "permission denied"), or the whole error when it has
// no system call inside.
func bindCause(err error) string {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

// closePorts releases logic's ports when a start fails. A server that
// was serving one has closed it already when it stopped, so errors (a
// second close) are not worth reporting.
func closePorts(httpLn, rpcLn net.Listener) error {
	_ = httpLn.Close()
	_ = rpcLn.Close()
	return nil
}
