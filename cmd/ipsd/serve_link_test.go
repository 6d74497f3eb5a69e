package main

import (
	"net"
	"strconv"
	"testing"
)

// Links in mail name the address a server really listens on.
func TestLinkAddress(t *testing.T) {
	host := hostname()
	for _, c := range []struct {
		addr *net.TCPAddr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 41234}, net.JoinHostPort(host, "41234")},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 80}, net.JoinHostPort(host, "80")},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 9000}, "[::1]:9000"},
	} {
		if got := linkAddress(c.addr); got != c.want {
			t.Errorf("linkAddress(%s) = %q, want %q", c.addr, got, c.want)
		}
	}
	// Port 0 is resolved by listening, before the link is made.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if got := linkAddress(ln.Addr()); got != "127.0.0.1:"+strconv.Itoa(port) {
		t.Errorf("linkAddress of a port-0 listener = %q", got)
	}
}
