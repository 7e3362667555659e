package calendar_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/elmcity/elmcity/shared/calendar"
)

// TestTreeMatchesGoical checks that the component tree Parse builds from
// the repair pass's tokens is the one go-ical's decoder builds from their
// text, on every test feed, fuzz seed and corpus file.
func TestTreeMatchesGoical(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("testdata", "*.ics"))
	seeds, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	if dir := corpusDir(t); dir != "" {
		c, _ := filepath.Glob(filepath.Join(dir, "ics", "*", "*.ics"))
		files = append(files, c...)
	}
	if len(files) == 0 || len(seeds) == 0 {
		t.Fatal("no test feeds or fuzz seeds found")
	}
	check := func(name string, data []byte) {
		if diff, _ := calendar.TreeDiff(data); diff != "" {
			t.Errorf("%s: tree differs from go-ical's decoding (-go-ical +tree):\n%s", name, diff)
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		check(f, data)
	}
	for _, f := range seeds {
		data, err := fuzzSeed(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		check(f, data)
	}
}

// FuzzTree looks for input whose tree differs from go-ical's decoding:
// go test -run '^$' -fuzz FuzzTree ./shared/calendar/
func FuzzTree(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.ics"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if diff, _ := calendar.TreeDiff(data); diff != "" {
			t.Fatalf("tree differs from go-ical's decoding (-go-ical +tree):\n%s", diff)
		}
	})
}

// fuzzSeed reads a one-value []byte seed file of Go's fuzzing corpus.
func fuzzSeed(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := bytes.SplitN(data, []byte("\n"), 2)
	if len(lines) != 2 {
		return nil, os.ErrInvalid
	}
	v := bytes.TrimSpace(lines[1])
	v = bytes.TrimSuffix(bytes.TrimPrefix(v, []byte("[]byte(")), []byte(")"))
	s, err := strconv.Unquote(string(v))
	return []byte(s), err
}
