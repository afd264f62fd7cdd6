package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/internal/fixture"
	"github.com/rogpeppe/go-internal/testscript"
)

// Swarm commands for the testscript suites: services of server images
// (server-image), and what they answer.
func init() {
	scriptCmds["swarm-service"] = cmdSwarmService
	scriptCmds["serves"] = cmdServes
	scriptCmds["swarm-settled"] = cmdSwarmSettled
}

// cmdSwarmSettled waits (up to a minute) until the engine is done rolling
// out the service's last update: its update status is neither updating nor
// rollback_started.
//
//	swarm-settled NAME
func cmdSwarmSettled(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: swarm-settled NAME")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eng, err := artifacts.NewEngine(ctx)
	ts.Check(err)
	defer eng.Close()
	for {
		svc, _, err := eng.Client().ServiceInspectWithRaw(ctx, args[0], swarm.ServiceInspectOptions{})
		ts.Check(err)
		if st := svc.UpdateStatus; st == nil || (st.State != swarm.UpdateStateUpdating && st.State != swarm.UpdateStateRollbackStarted) {
			return
		}
		select {
		case <-ctx.Done():
			ts.Fatalf("swarm-settled: %s still %s", args[0], svc.UpdateStatus.State)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

const swarmServiceUsage = "swarm-service [-monitor DURATION] NAME IMAGE PORTVAR"

// cmdSwarmService creates the Swarm service NAME running IMAGE (the engine
// made a swarm manager for the script if it is not one) on the host
// network, and sets $PORTVAR to the port its server answers on. The
// service is removed when the script ends. -monitor sets how long the
// engine watches an updated task for a failure (one second by default).
func cmdSwarmService(ts *testscript.TestScript, neg bool, args []string) {
	var monitor time.Duration
	if len(args) > 1 && args[0] == "-monitor" {
		d, err := time.ParseDuration(args[1])
		if err != nil {
			ts.Fatalf("usage: %s: %v", swarmServiceUsage, err)
		}
		monitor, args = d, args[2:]
	}
	if neg || len(args) != 3 {
		ts.Fatalf("usage: %s", swarmServiceUsage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng, err := artifacts.NewEngine(ctx)
	ts.Check(err)
	release, err := fixture.Swarm(ctx, eng.Client())
	if err != nil {
		eng.Close()
		ts.Fatalf("swarm-service: %v", err)
	}
	ts.Defer(func() {
		release()
		eng.Close()
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	id, err := fixture.CreateService(ctx, eng.Client(), fixture.ServiceSpec{Name: args[0], Image: args[1], Port: port, Monitor: monitor})
	if id != "" {
		ts.Defer(func() { _ = eng.Client().ServiceRemove(context.Background(), id) })
	}
	ts.Check(err)
	ts.Setenv(args[2], strconv.Itoa(port))
}

// cmdServes checks that the server on 127.0.0.1:PORT answers WANT,
// waiting (up to 30s) while nothing listens or another build still answers:
// a task being replaced, an update the engine is still rolling out.
//
//	serves PORT WANT
func cmdServes(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: serves PORT WANT")
	}
	url := fmt.Sprintf("http://127.0.0.1:%s/", args[0])
	last := "nothing"
	for range 300 {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := strings.TrimSpace(string(b))
			if got == args[1] {
				return
			}
			last = fmt.Sprintf("%q", got)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	ts.Fatalf("%s answers %s, want %q", url, last, args[1])
}
