package hubcal

import (
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/elmcity/elmcity/shared/calendar"
)

// Event is one event of a hub's merged calendar: what the web role
// renders in every format, made from a Calendar one at a time. Its JSON
// form is what query scripts read (elmcity.events), and what a payload of
// the first format held, one per line.
type Event struct {
	// UID is stable across runs: derived from the source feed and the
	// source UID (plus the recurrence id of a recurring instance), never
	// from list positions, so subscribers' calendars do not churn.
	UID   string    `json:"uid"`
	Title string    `json:"title"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// AllDay reports DATE values: Start and End are midnight UTC of the
	// dates, End exclusive.
	AllDay      bool   `json:"all_day,omitempty"`
	Description string `json:"description,omitempty"`
	Location    string `json:"location,omitempty"`
	URL         string `json:"url,omitempty"`
	// Tags are lowercase; a tag outside the hub's vocabulary is written
	// "{tag}" (contributed), so curators can see and map it.
	Tags []string `json:"tags,omitempty"`
	// Cancelled reports an occurrence its feed marks STATUS:CANCELLED (a
	// cancelled series, or a cancelled instance of one): it is published
	// so that the public learns of it, marked as cancelled. Every copy of
	// a merged event has the same status: a cancelled copy is never
	// folded with one that takes place.
	Cancelled bool `json:"cancelled,omitempty"`
	// Sources lists every feed that had this event, the primary first.
	Sources []Source `json:"sources"`
	// Merged explains each event folded into this one.
	Merged []MergeNote `json:"merged,omitempty"`
}

// Source is one feed's copy of an event.
type Source struct {
	Feed string `json:"feed"` // feed id
	Name string `json:"name"` // the feed's source name
	// URL is the event's own URL, else the feed's home page.
	URL string `json:"url,omitempty"`
	UID string `json:"uid"` // the UID in the feed
	// ID is the hub UID this source's copy has on its own, so the copy
	// can be carried into a later run when its feed is unchanged or down.
	ID string `json:"id"`
}

// MergeNote records why an event absorbed another: explainable dedupe.
type MergeNote struct {
	Feed   string `json:"feed"`
	UID    string `json:"uid"`
	Reason string `json:"reason"`
}

// Feed is one feed's contribution to a merge.
type Feed struct {
	// Feed is the feed's id; Source its display name; HomeURL its home
	// page.
	Feed, Source, HomeURL string
	// Categories are the feed's own tags, added to every event.
	Categories []string
	// CatMap maps the feed's category names (lowercase) to hub tags.
	CatMap map[string]string
	// Occurrences are the feed's expanded occurrences. A feed that is
	// unchanged or down contributes its events of the run before instead
	// (Calendar.Carry, Contribution.AddCarried).
	Occurrences []calendar.Occurrence
}

// Options tunes Merge.
type Options struct {
	// Vocabulary is the hub's own tag list; empty means every tag is the
	// hub's.
	Vocabulary []string
}

// Stats counts what Merge did.
type Stats struct {
	In           int // occurrences in
	SameFeedDups int // dropped as repeats of (UID, RECURRENCE-ID) in one feed
	Merged       int // folded into an event of another feed
	Out          int // hub events out
}

// eventTags collects an occurrence's tags: its CATEGORIES mapped through
// the feed's catmap, the feed's own categories, and "category=a,b" lines
// in the description (an old curator convention); lowercase, trimmed,
// deduplicated, sorted, and contributed ones written "{tag}".
func eventTags(o *calendar.Occurrence, catmap map[string]string, feedTags []string, vocab map[string]bool) []string {
	return tagsOf(o.Categories, o.Description, catmap, feedTags, vocab)
}

// tagsOf derives an event's hub tags from its CATEGORIES values (cats)
// and "category=" lines of its description, the feed's catmap and
// categories, and the hub's vocabulary.
//
// Each of cats is one value, as the parser split the property's TEXT
// list at its unescaped commas and unescaped it (RFC 5545 3.3.11): a
// comma left in a value was escaped in the feed ("Meeting\, John") and
// belongs to the category, so it is never split again.
func tagsOf(cats []string, description string, catmap map[string]string, feedTags []string, vocab map[string]bool) []string {
	var raw []string
	for _, c := range cats {
		t := normTag(c)
		if m, ok := catmap[t]; ok {
			t = normTag(m)
		}
		raw = append(raw, t)
	}
	raw = append(raw, feedTags...)
	for _, line := range strings.Split(description, "\n") {
		line = strings.TrimSpace(line)
		if len(line) > len("category=") && strings.EqualFold(line[:len("category=")], "category=") {
			for _, t := range strings.Split(line[len("category="):], ",") {
				raw = append(raw, normTag(t))
			}
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range raw {
		t = normTag(t)
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		if len(vocab) > 0 && !vocab[t] {
			t = "{" + t + "}"
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func normTag(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func unionTags(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// normTitle lowercases a title and keeps its letters and digits as
// space-separated words.
func normTitle(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	return strings.Join(f, " ")
}

// sortedWords returns the words of a normalized title, sorted, for
// titleMatch.
func sortedWords(t string) []string {
	w := strings.Fields(t)
	slices.Sort(w)
	return w
}

// titleMatch says how two normalized titles match: "same", "similar"
// (conservative fuzzy: at least 80% of the words of the longer title are
// shared, or one title starts with the other and the shorter has at least
// three words), or "" for no match. wa and wb are the titles' sorted words
// (sortedWords), computed once per event rather than once per pair.
func titleMatch(a, b string, wa, wb []string) string {
	if a == "" || b == "" {
		return ""
	}
	if a == b {
		return "same"
	}
	if len(wa) > len(wb) {
		wa, wb = wb, wa
		a, b = b, a
	}
	if len(wa) >= 3 && strings.HasPrefix(b, a+" ") {
		return "similar"
	}
	// Shared words can be no more than the shorter title has.
	if len(wb) < 2 || len(wa)*5 < len(wb)*4 {
		return ""
	}
	shared := 0
	for i, j := 0, 0; i < len(wa) && j < len(wb); {
		switch c := strings.Compare(wa[i], wb[j]); {
		case c == 0:
			shared++
			i++
			j++
		case c < 0:
			i++
		default:
			j++
		}
	}
	if shared*5 >= len(wb)*4 {
		return "similar"
	}
	return ""
}
