package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
)

// corpusWindow returns the corpus window, expand's default, so that its
// output can be compared with shared/corpus/expected as it is.
func corpusWindow() (from, to time.Time) {
	return time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)
}

// expandOutput is what expand prints: the corpus format's header fields
// and its occurrences.
type expandOutput struct {
	File   string `json:"file"`
	Window struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"window"`
	Cap         int               `json:"cap_per_event"`
	Truncated   []string          `json:"truncated"`
	Problems    []string          `json:"problems,omitempty"`
	Occurrences []calendar.Record `json:"occurrences"`
}

// Expand implements `workerrole expand [--from RFC3339] [--to RFC3339]
// [--cap N] [--tz ZONE] FILE|URL`: it prints the feed's occurrences in the
// window as a JSON object whose "occurrences" array has the format and
// conventions of shared/corpus/README.md: times in UTC with a Z, DATE
// values as dates, "recurrence_id" on overrides, cancelled instances
// listed with their "status", "floating" marked, at most N per series.
// The hub's own policies stay on, and an occurrence one of them changed
// names it in "policy". The window defaults to the corpus window
// [1990-01-01, 2035-01-01) and the cap to 5000.
//
// It returns an error wrapping ErrUsage for a bad command line and one
// wrapping calendar.ErrInvalidFeed for input that is not a feed.
func Expand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	from, to := corpusWindow()
	o, err := parseArgs("expand", args, stderr, flagSet{cap: true}, from, to)
	if err != nil {
		return err
	}
	cal, err := parse(ctx, o, stdin)
	if err != nil {
		return err
	}
	x, err := cal.Expand(ctx, calendar.ExpandOptions{From: o.from, To: o.to, MaxPerSeries: o.cap, IncludeCancelled: true})
	if err != nil {
		return fmt.Errorf("expand feed %s: %w", o.source, err)
	}
	out := expandOutput{File: o.source, Cap: o.cap, Truncated: x.Truncated}
	out.Window.From = o.from.UTC().Format(time.RFC3339)
	out.Window.To = o.to.UTC().Format(time.RFC3339)
	if out.Truncated == nil {
		out.Truncated = []string{}
	}
	for _, p := range x.Problems {
		out.Problems = append(out.Problems, fmt.Sprintf("UID %q: %s", p.UID, p.Reason))
	}
	out.Occurrences = make([]calendar.Record, len(x.Occurrences))
	for i := range x.Occurrences {
		out.Occurrences[i] = x.Occurrences[i].Record()
	}
	if err := writeExpand(stdout, out); err != nil {
		return fmt.Errorf("write occurrences: %w", err)
	}
	return nil
}

// writeExpand writes the output with one occurrence per line, which keeps
// large outputs readable and diffable.
func writeExpand(w io.Writer, out expandOutput) error {
	occs := out.Occurrences
	out.Occurrences = nil
	head, err := marshal(out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	// head ends with `"occurrences":null}`; replace the null with the
	// list.
	head = head[:len(head)-len("null}")]
	bw.Write(head)
	bw.WriteString("[")
	for i, r := range occs {
		b, err := marshal(r)
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n  ")
		bw.Write(b)
	}
	if len(occs) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// marshal is json.Marshal without HTML escaping and without the trailing
// newline of an Encoder.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
