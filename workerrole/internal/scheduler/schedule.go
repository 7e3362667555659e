package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/elmcity/elmcity/shared/script"
)

// Task is one maintenance script on a timer.
type Task struct {
	// Name identifies the task (its last run is stored under it).
	Name string `json:"name"`
	// Script is the script's name under the script source, such as
	// "maintenance/purge_logs.js".
	Script string `json:"script"`
	// Every is an interval such as "24h"; Cron a five-field cron
	// expression in UTC ("5 0 * * *"). Exactly one is set.
	Every string `json:"every,omitempty"`
	Cron  string `json:"cron,omitempty"`
	// Args become the script's argv.
	Args []string `json:"args,omitempty"`

	every time.Duration
	cron  cron.Schedule
}

// Schedule is the parsed schedule file (scripts/maintenance/schedule.json).
type Schedule struct {
	Tasks []Task `json:"tasks"`
}

var taskName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// ParseSchedule reads and validates a schedule file; the error names every
// bad task.
func ParseSchedule(b []byte) (Schedule, error) {
	var s Schedule
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Schedule{}, fmt.Errorf("schedule: %w", err)
	}
	var errs []error
	seen := map[string]bool{}
	for i := range s.Tasks {
		t := &s.Tasks[i]
		bad := func(why string) { errs = append(errs, fmt.Errorf("task %d (%q): %s", i, t.Name, why)) }
		if !taskName.MatchString(t.Name) || seen[t.Name] {
			bad("name must be unique lowercase letters, digits, '-' or '_'")
		}
		seen[t.Name] = true
		if t.Script == "" {
			bad("script is required")
		}
		switch {
		case (t.Every == "") == (t.Cron == ""):
			bad("set exactly one of every and cron")
		case t.Every != "":
			d, err := time.ParseDuration(t.Every)
			if err != nil || d < time.Minute {
				bad("every must be a duration of at least 1m")
			}
			t.every = d
		default:
			sch, err := cron.ParseStandard(t.Cron)
			if err != nil {
				bad("cron: " + err.Error())
			}
			t.cron = sch
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Schedule{}, fmt.Errorf("schedule: %w", err)
	}
	return s, nil
}

// Due reports whether a task last run at last (zero: never) is due at now.
func (t Task) Due(last, now time.Time) bool {
	if last.IsZero() {
		return true
	}
	if t.every > 0 {
		return !now.Before(last.Add(t.every))
	}
	return !now.Before(t.cron.Next(last.UTC()))
}

// ScheduleFile is where the schedule lives under the script source.
const ScheduleFile = "maintenance/schedule.json"

// Files reads data files of the script source (*script.Engine).
type Files interface {
	ReadFile(ctx context.Context, name string) ([]byte, error)
}

// LoadSchedule reads ScheduleFile from the script source through files:
// from its folder, or from its base URL under the rules remote scripts
// follow (auth, cache, lock pins, signatures). A missing file is an empty
// schedule.
func LoadSchedule(ctx context.Context, files Files) (Schedule, error) {
	b, err := files.ReadFile(ctx, ScheduleFile)
	if errors.Is(err, script.ErrNotFound) {
		return Schedule{}, nil
	}
	if err != nil {
		return Schedule{}, fmt.Errorf("schedule: %w", err)
	}
	return ParseSchedule(b)
}
