package sandbox

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// tlsOrPlain is a listener that serves TLS and plain connections on one
// port: a connection whose first byte is a TLS handshake record (0x16) is
// wrapped in tls.Server, any other is passed on as it is. Connections are
// sorted in their own goroutines, so a client that sends nothing holds up
// no one; one that sends nothing for sniffTimeout is dropped.
type tlsOrPlain struct {
	net.Listener
	cfg   *tls.Config
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	err   error
}

// sniffTimeout bounds how long a new connection may stay silent.
const sniffTimeout = 10 * time.Second

func newTLSOrPlain(ln net.Listener, cfg *tls.Config) *tlsOrPlain {
	l := &tlsOrPlain{Listener: ln, cfg: cfg, conns: make(chan net.Conn), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *tlsOrPlain) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			l.stop(err)
			return
		}
		go l.sort(c)
	}
}

func (l *tlsOrPlain) sort(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	if err != nil {
		_ = c.Close() // silent or gone before saying anything
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var out net.Conn = &peekedConn{Conn: c, r: br}
	if first[0] == 0x16 {
		out = tls.Server(out, l.cfg)
	}
	select {
	case l.conns <- out:
	case <-l.done:
		_ = c.Close()
	}
}

// Accept returns the next sorted connection.
func (l *tlsOrPlain) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

// stop ends Accept with err (the first stop wins).
func (l *tlsOrPlain) stop(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.done)
	})
}

// Close stops listening.
func (l *tlsOrPlain) Close() error {
	err := l.Listener.Close()
	l.stop(net.ErrClosed)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// peekedConn reads first what sorting buffered.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
