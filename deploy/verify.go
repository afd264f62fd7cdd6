package deploy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/lkg-dev/lkg/internal/redact"
	"github.com/lkg-dev/lkg/journal"
)

// verify polls u until it answers 2xx or timeout passes. A poll with no
// HTTP answer records why (refused, timed out); Ctrl-C (ctx) ends it as
// interrupted, which is no verdict on the service.
func verify(ctx context.Context, u string, timeout time.Duration) journal.VerifyData {
	start := time.Now()
	v := journal.VerifyData{URL: redact.URL(u)}
	vctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		req, err := http.NewRequestWithContext(vctx, http.MethodGet, u, nil)
		if err == nil {
			var resp *http.Response
			resp, err = client.Do(req)
			if err == nil {
				_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
				resp.Body.Close()
				v.Status, v.Error = resp.StatusCode, ""
				if resp.StatusCode >= 200 && resp.StatusCode < 300 {
					v.OK = true
					break
				}
			}
		}
		// An attempt cut short by the deadline says less than the one
		// before it (a refusal, a status): keep that one.
		if err != nil && (vctx.Err() == nil || (v.Status == 0 && v.Error == "")) {
			v.Error = noAnswer(err)
		}
		t := time.NewTimer(time.Second)
		select {
		case <-vctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				v.Error = journal.VerifyInterrupted
			}
			v.ElapsedMS = time.Since(start).Milliseconds()
			return v
		case <-t.C:
		}
	}
	v.ElapsedMS = time.Since(start).Milliseconds()
	return v
}

// noAnswer says why a request got no HTTP answer, in the words the journal
// keeps.
func noAnswer(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return journal.VerifyRefused
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return journal.VerifyTimedOut
	case errors.Is(err, context.Canceled):
		return journal.VerifyInterrupted
	}
	return redact.Text(oneLine(err)) // url.Error quotes the URL, credentials and all
}
