package swarm

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/journal"
)

var _ deploy.EvidenceTaker = (*Service)(nil)

// maxTasks bounds how many of the service's tasks a capture reads (the
// newest): a crash-looping service keeps a history of them.
const maxTasks = 10

// Evidence is what the service's tasks are doing before a move replaces
// them: each recent task's state, exit code and error as the engine says
// them, how many tasks its slot went through (a task restarted is a new
// task), and the end of its logs. Environment and secrets are never read.
func (s *Service) Evidence(ctx context.Context, perUnit int64) (journal.Evidence, error) {
	var ev journal.Evidence
	cli, err := s.client(ctx)
	if err != nil {
		return ev, err
	}
	svc, err := s.inspect(ctx, cli)
	if err != nil {
		return ev, err
	}
	tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
	if err != nil {
		return ev, fmt.Errorf("listing the tasks of %s: %w", s, err)
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].CreatedAt.After(tasks[j].CreatedAt) })
	perSlot := map[int]int{}
	for _, t := range tasks {
		perSlot[t.Slot]++
	}
	if st := svc.UpdateStatus; st != nil && st.Message != "" {
		ev.Events = append(ev.Events, fmt.Sprintf("update %s: %s", st.State, st.Message))
	}
	for i, t := range tasks {
		if i == maxTasks {
			ev.Notes = append(ev.Notes, fmt.Sprintf("%d older task(s) not read", len(tasks)-maxTasks))
			break
		}
		u := journal.EvidenceUnit{
			Name:     svc.Spec.Name + "." + strconv.Itoa(t.Slot) + "." + t.ID,
			State:    string(t.Status.State),
			Restarts: perSlot[t.Slot] - 1,
			Reason:   t.Status.Err,
		}
		if t.Spec.ContainerSpec != nil {
			u.Image = t.Spec.ContainerSpec.Image
		}
		if t.Status.ContainerStatus != nil {
			u.ExitCode = t.Status.ContainerStatus.ExitCode
		}
		if ctx.Err() == nil {
			logs, cut, err := s.taskLogs(ctx, cli, t.ID, perUnit)
			if err != nil {
				ev.Notes = append(ev.Notes, fmt.Sprintf("logs of task %s unavailable: %s", t.ID, text.OneLine(err)))
			}
			u.Logs, u.LogsTruncated = logs, cut
		}
		ev.Units = append(ev.Units, u)
	}
	return ev, ctx.Err()
}

// taskLogs is the end of a task's logs, at most limit bytes.
func (s *Service) taskLogs(ctx context.Context, cli *client.Client, id string, limit int64) (string, bool, error) {
	rc, err := cli.TaskLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "200"})
	if err != nil {
		return "", false, err
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil && out.Len() == 0 {
		return "", false, err
	}
	b := out.Bytes()
	if limit > 0 && int64(len(b)) > limit {
		return string(b[int64(len(b))-limit:]), true, nil
	}
	return string(b), false, nil
}
