//go:build gui && linux

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// closeWindow does what a window manager does when the user clicks a
// window's close button: it sends the top-level window titled title on
// display (":N") a WM_PROTOCOLS client message carrying WM_DELETE_WINDOW.
// Xvfb runs no window manager, and the X tools make test-gui installs send
// no such message, so this speaks the few X11 requests it needs itself.
func closeWindow(display, title string) error {
	c, err := dialX(display)
	if err != nil {
		return err
	}
	defer c.conn.Close()
	protocols, err := c.internAtom("WM_PROTOCOLS")
	if err != nil {
		return err
	}
	deleteWindow, err := c.internAtom("WM_DELETE_WINDOW")
	if err != nil {
		return err
	}
	netName, err := c.internAtom("_NET_WM_NAME")
	if err != nil {
		return err
	}
	win, err := c.findWindow(title, netName)
	if err != nil {
		return err
	}
	ev := make([]byte, 32)
	ev[0] = 33 // ClientMessage
	ev[1] = 32 // format
	binary.LittleEndian.PutUint32(ev[4:], win)
	binary.LittleEndian.PutUint32(ev[8:], protocols)
	binary.LittleEndian.PutUint32(ev[12:], deleteWindow)
	req := make([]byte, 12, 44)
	req[0] = 25 // SendEvent, propagate false
	binary.LittleEndian.PutUint16(req[2:], 11)
	binary.LittleEndian.PutUint32(req[4:], win) // event mask 0: to the window's creator
	if _, err := c.conn.Write(append(req, ev...)); err != nil {
		return fmt.Errorf("x11 SendEvent: %w", err)
	}
	_, err = c.internAtom("WM_PROTOCOLS") // a round trip: the event is sent
	return err
}

// xconn is a connection to an X server (no authentication: Xvfb started
// without -auth accepts local clients).
type xconn struct {
	conn net.Conn
	root uint32
}

func dialX(display string) (*xconn, error) {
	n := strings.TrimPrefix(display, ":")
	conn, err := net.DialTimeout("unix", "/tmp/.X11-unix/X"+n, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("x11: %w", err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	setup := []byte{'l', 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0} // little endian, protocol 11.0, no auth
	if _, err := conn.Write(setup); err != nil {
		conn.Close()
		return nil, fmt.Errorf("x11 setup: %w", err)
	}
	head := make([]byte, 8)
	if _, err := io.ReadFull(conn, head); err != nil {
		conn.Close()
		return nil, fmt.Errorf("x11 setup: %w", err)
	}
	body := make([]byte, 4*int(binary.LittleEndian.Uint16(head[6:])))
	if _, err := io.ReadFull(conn, body); err != nil {
		conn.Close()
		return nil, fmt.Errorf("x11 setup: %w", err)
	}
	if head[0] != 1 {
		conn.Close()
		return nil, fmt.Errorf("x11 setup refused: %q", body)
	}
	// Fixed part (32 bytes), vendor (padded), pixmap formats (8 bytes
	// each), then the first screen, which starts with its root window.
	vendor := int(binary.LittleEndian.Uint16(body[16:]))
	off := 32 + (vendor+3)&^3 + 8*int(body[21])
	if off+4 > len(body) {
		conn.Close()
		return nil, errors.New("x11 setup: short reply")
	}
	return &xconn{conn: conn, root: binary.LittleEndian.Uint32(body[off:])}, nil
}

// reply reads the reply to the request just sent: its 32 bytes and the
// extra data that follows.
func (c *xconn) reply() ([]byte, error) {
	r := make([]byte, 32)
	if _, err := io.ReadFull(c.conn, r); err != nil {
		return nil, fmt.Errorf("x11 reply: %w", err)
	}
	if r[0] == 0 {
		return nil, fmt.Errorf("x11 error %d (request %d)", r[1], r[10])
	}
	extra := make([]byte, 4*int(binary.LittleEndian.Uint32(r[4:])))
	if _, err := io.ReadFull(c.conn, extra); err != nil {
		return nil, fmt.Errorf("x11 reply: %w", err)
	}
	return append(r, extra...), nil
}

func (c *xconn) internAtom(name string) (uint32, error) {
	padded := (len(name) + 3) &^ 3
	req := make([]byte, 8+padded)
	req[0] = 16 // InternAtom, only-if-exists false
	binary.LittleEndian.PutUint16(req[2:], uint16(len(req)/4))
	binary.LittleEndian.PutUint16(req[4:], uint16(len(name)))
	copy(req[8:], name)
	if _, err := c.conn.Write(req); err != nil {
		return 0, fmt.Errorf("x11 InternAtom: %w", err)
	}
	r, err := c.reply()
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(r[8:]), nil
}

// findWindow returns the child of the root window whose WM_NAME or
// netName property is title.
func (c *xconn) findWindow(title string, netName uint32) (uint32, error) {
	req := make([]byte, 8)
	req[0] = 15 // QueryTree
	binary.LittleEndian.PutUint16(req[2:], 2)
	binary.LittleEndian.PutUint32(req[4:], c.root)
	if _, err := c.conn.Write(req); err != nil {
		return 0, fmt.Errorf("x11 QueryTree: %w", err)
	}
	r, err := c.reply()
	if err != nil {
		return 0, err
	}
	n := int(binary.LittleEndian.Uint16(r[16:]))
	for i := range n {
		w := binary.LittleEndian.Uint32(r[32+4*i:])
		for _, prop := range []uint32{39 /* WM_NAME */, netName} {
			v, err := c.property(w, prop)
			if err != nil {
				return 0, err
			}
			if v == title {
				return w, nil
			}
		}
	}
	return 0, fmt.Errorf("no window titled %q among %d", title, n)
}

// property returns window w's property prop as a string (up to 256 bytes).
func (c *xconn) property(w, prop uint32) (string, error) {
	req := make([]byte, 24)
	req[0] = 20 // GetProperty, delete false
	binary.LittleEndian.PutUint16(req[2:], 6)
	binary.LittleEndian.PutUint32(req[4:], w)
	binary.LittleEndian.PutUint32(req[8:], prop)
	// type 0: any; offset 0; length in 4-byte units
	binary.LittleEndian.PutUint32(req[20:], 64)
	if _, err := c.conn.Write(req); err != nil {
		return "", fmt.Errorf("x11 GetProperty: %w", err)
	}
	r, err := c.reply()
	if err != nil {
		return "", err
	}
	if r[1] != 8 { // not a string (or absent)
		return "", nil
	}
	n := int(binary.LittleEndian.Uint32(r[16:]))
	if n > len(r)-32 {
		return "", errors.New("x11 GetProperty: short reply")
	}
	return string(r[32 : 32+n]), nil
}
