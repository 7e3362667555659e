package scheduler_test

import (
	"slices"
	"strings"

	"github.com/elmcity/elmcity/shared/logtest"
	"github.com/elmcity/elmcity/workerrole/internal/scheduler"
)

func sorted(s []string) []string { slices.Sort(s); return s }

// findSaid returns the records of r whose message, as curators read it in
// the table log (scheduler.Sentences), contains msg; each with Msg set to
// that sentence.
func findSaid(r *logtest.Recorder, msg string) []logtest.Record {
	sentences := scheduler.Sentences()
	var out []logtest.Record
	for _, rec := range r.Records() {
		if f, ok := sentences[rec.Msg]; ok {
			rec.Msg = f(rec.Attrs)
		}
		if strings.Contains(rec.Msg, msg) {
			out = append(out, rec)
		}
	}
	return out
}
