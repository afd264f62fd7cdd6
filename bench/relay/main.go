// Command relay is a TCP proxy for the fresh-clone outage bench: it
// forwards connections to a git server, paces each direction to a shared
// byte rate (a link of -rate bytes per second, all connections together)
// and counts the bytes, so a benchmark can report what a command
// downloaded and how long it took over a realistic link.
//
//	relay -to 127.0.0.1:9418 -rate 25000000 -addr-file relay.addr
//
// It listens on 127.0.0.1 only and writes its address to -addr-file. A
// second listener, the control address (-ctl-file), answers plain HTTP:
//
//	GET /stats         "down N up N conns N active N" (down: server to client)
//	GET /stats?reset=1 the same, then the counters start from zero
//
// A benchmark resets the counters, runs the command, then polls /stats
// until active is 0 (every connection of the command has been closed and
// its last bytes counted).
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	to := flag.String("to", "", "server address to forward to, HOST:PORT")
	rate := flag.Float64("rate", 25e6, "bytes per second in each direction, all connections together (0: unpaced)")
	addrFile := flag.String("addr-file", "", "write the relay's listen address (HOST:PORT) here")
	ctlFile := flag.String("ctl-file", "", "write the control address (HOST:PORT) here")
	flag.Parse()
	if *to == "" {
		flag.Usage()
		os.Exit(2)
	}
	r := &relay{to: *to, down: newPacer(*rate), up: newPacer(*rate)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", r.stats)
	go func() { log.Fatal(http.Serve(ctl, mux)) }()
	writeAddr(*addrFile, ln.Addr().String())
	writeAddr(*ctlFile, ctl.Addr().String())
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go r.serve(c)
	}
}

// writeAddr writes addr to path atomically, so a script polling for the
// file never reads half of it.
func writeAddr(path, addr string) {
	if path == "" {
		fmt.Println(addr)
		return
	}
	if err := os.WriteFile(path+".tmp", []byte(addr+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		log.Fatal(err)
	}
}

type relay struct {
	to                string
	down, up          *pacer
	nDown, nUp, conns atomic.Int64
	active            atomic.Int64
}

func (r *relay) stats(w http.ResponseWriter, req *http.Request) {
	fmt.Fprintf(w, "down %d up %d conns %d active %d\n", r.nDown.Load(), r.nUp.Load(), r.conns.Load(), r.active.Load())
	if req.URL.Query().Get("reset") != "" {
		r.nDown.Store(0)
		r.nUp.Store(0)
		r.conns.Store(0)
	}
}

func (r *relay) serve(client net.Conn) {
	r.conns.Add(1)
	r.active.Add(1)
	defer r.active.Add(-1)
	defer client.Close()
	server, err := net.Dial("tcp", r.to)
	if err != nil {
		log.Printf("relay: %v", err)
		return
	}
	defer server.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		r.copy(server, client, r.up, &r.nUp)
	}()
	go func() {
		defer wg.Done()
		r.copy(client, server, r.down, &r.nDown)
	}()
	wg.Wait()
}

// copy forwards src to dst through the pacer, counting bytes, and closes
// dst's write side at EOF so the other end sees the half-close.
func (r *relay) copy(dst, src net.Conn, p *pacer, n *atomic.Int64) {
	buf := make([]byte, 16<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			p.wait(k)
			if _, werr := dst.Write(buf[:k]); werr != nil {
				break
			}
			n.Add(int64(k))
		}
		if err != nil {
			if err != io.EOF {
				// A reset by either side ends both directions.
				dst.Close()
				src.Close()
				return
			}
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	} else {
		dst.Close()
	}
}

// pacer spaces chunks so that, over all connections together, bytes pass
// at no more than rate per second: each chunk reserves its slot on one
// shared timeline and waits for it.
type pacer struct {
	mu   sync.Mutex
	rate float64
	next time.Time
}

func newPacer(rate float64) *pacer { return &pacer{rate: rate} }

func (p *pacer) wait(n int) {
	if p.rate <= 0 {
		return
	}
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	until := p.next
	p.mu.Unlock()
	if d := time.Until(until); d > 0 {
		time.Sleep(d)
	}
}
