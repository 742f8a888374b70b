//go:build !unix

package web

import (
	"errors"
	"fmt"
	"net"
)

// listenUnix is not supported here: the control socket needs unix file permissions.
func listenUnix(path string) (net.Listener, func(), error) {
	return nil, nil, fmt.Errorf("control socket %s: %w", path, errors.ErrUnsupported)
}
