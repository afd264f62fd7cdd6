package container

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	ctypes "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/journal"
)

var _ deploy.EvidenceTaker = (*Container)(nil)

// logTail is how many log lines the engine is asked for; perUnit then
// caps them in bytes.
const logTail = "500"

// Evidence is what the container does now, before a move replaces it (and
// with it the logs, exit code and restart count of the broken build): its
// state, exit code, restarts, health and its probes' last outputs, and the
// end of its logs, at most perUnit bytes. Never its environment or
// mounts: the inspect answer carries secrets there.
func (c *Container) Evidence(ctx context.Context, perUnit int64) (journal.Evidence, error) {
	ins, err := c.inspect(ctx)
	if err != nil {
		return journal.Evidence{}, err
	}
	u := journal.EvidenceUnit{Name: c.name, Restarts: ins.RestartCount}
	if ins.Config != nil {
		u.Image = ins.Config.Image
	}
	if s := ins.State; s != nil {
		u.State, u.ExitCode, u.OOMKilled, u.Reason = s.Status, s.ExitCode, s.OOMKilled, s.Error
		if s.Health != nil {
			u.Health = s.Health.Status
			for _, p := range s.Health.Log {
				if out := strings.TrimSpace(p.Output); out != "" {
					u.HealthLog = append(u.HealthLog, out)
				}
			}
		}
	}
	var ev journal.Evidence
	u.Logs, u.LogsTruncated, err = c.logs(ctx, ins, perUnit)
	if err != nil {
		ev.Notes = append(ev.Notes, "logs unavailable: "+err.Error())
	}
	ev.Units = []journal.EvidenceUnit{u}
	return ev, nil
}

// logs is the end of the container's output, stdout and stderr as they
// came, at most max bytes (0: no cap); truncated says lines were dropped.
func (c *Container) logs(ctx context.Context, ins ctypes.InspectResponse, max int64) (string, bool, error) {
	rc, err := c.cli.ContainerLogs(ctx, ins.ID, ctypes.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: logTail})
	if err != nil {
		return "", false, c.engineErr("reading the logs of "+c.name, err)
	}
	defer rc.Close()
	var b bytes.Buffer
	if ins.Config != nil && ins.Config.Tty {
		_, err = io.Copy(&b, rc)
	} else {
		// Without a TTY the engine frames stdout and stderr in one stream.
		_, err = stdcopy.StdCopy(&b, &b, rc)
	}
	out := b.Bytes()
	truncated := false
	if max > 0 && int64(len(out)) > max {
		out = out[int64(len(out))-max:]
		if i := bytes.IndexByte(out, '\n'); i >= 0 && i < len(out)-1 {
			out = out[i+1:] // whole lines, unless the last one is all there is
		}
		truncated = true
	}
	if err != nil && len(out) == 0 {
		return "", false, fmt.Errorf("reading the logs of %s: %w", c.name, err)
	}
	return string(out), truncated, nil
}
