// Package hub holds the domain records curators edit: a Hub (a town's or a
// topic's calendar) and the Feeds it gathers. It has no storage dependency;
// shared/tablestore keeps these records in Azure Tables.
package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/feedkind"
)

// Types of hub.
const (
	TypeWhere  = "where"  // a place: a town, a neighbourhood
	TypeWhat   = "what"   // a topic: jazz, running, city council
	TypeRegion = "region" // a hub of hubs: merges its member hubs
)

// Defaults for a new hub.
const (
	DefaultHorizonDays   = 90
	DefaultIntervalHours = 8
)

// Bounds on what a hub or feed record may hold. Each keeps a record well
// inside what its table entity can store (64 KiB per property), so a
// curator's oversized input is a validation error, never a storage error.
const (
	// DefaultMaxRegionMembers is Limits.MaxRegionMembers when unset.
	DefaultMaxRegionMembers = 50
	// MaxVocabulary is the most tags a hub's vocabulary may list.
	MaxVocabulary = 500
	// MaxTagBytes is the longest tag: a vocabulary entry, a category, or
	// either side of a catmap mapping.
	MaxTagBytes = 100
	// MaxRenderOptions is the most render options a hub may set.
	MaxRenderOptions = 32
	// MaxRenderKeyBytes and MaxRenderValueBytes bound one render option.
	MaxRenderKeyBytes   = 64
	MaxRenderValueBytes = 500
)

// Limits are the configurable bounds Hub.ValidateWith checks. A zero
// field takes its default.
type Limits struct {
	// MaxRegionMembers is the most member hubs a region may list, after
	// duplicates are dropped; default DefaultMaxRegionMembers.
	MaxRegionMembers int
}

func (l Limits) withDefaults() Limits {
	if l.MaxRegionMembers <= 0 {
		l.MaxRegionMembers = DefaultMaxRegionMembers
	}
	return l
}

// ErrInvalid is wrapped by every validation error; a *ValidationError says
// which fields are wrong.
var ErrInvalid = errors.New("invalid")

// ValidationError lists field-level problems, keyed by JSON field name.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return "invalid: " + strings.Join(parts, "; ")
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

type fieldErrors map[string]string

func (f fieldErrors) add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &ValidationError{Fields: f}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether s is a valid hub id: 1-64 letters, digits, '_'
// or '-'. Only valid ids ever reach a table query.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// reserved are the web role's top-level paths, which would shadow a hub
// page at /{hub}.
var reserved = []string{"api", "healthz", "readyz", "metrics", "services", "console"}

// Reserved reports whether id names one of the web role's own top-level
// paths (in any case), so no hub may take it.
func Reserved(id string) bool {
	for _, r := range reserved {
		if strings.EqualFold(id, r) {
			return true
		}
	}
	return false
}

// Hub is one hub's settings.
type Hub struct {
	ID            string   `json:"id"`
	Title         string   `json:"title"`
	Type          string   `json:"type"`
	TZ            string   `json:"tz"`
	HorizonDays   int      `json:"horizon_days"`
	IntervalHours int      `json:"interval_hours"`
	Contact       string   `json:"contact"`
	Members       []string `json:"members,omitempty"` // member hubs of a region
	// Vocabulary is the hub's own tag list; other tags are "contributed".
	Vocabulary []string `json:"vocabulary,omitempty"`
	// Render holds default render options (view, count, theme ...).
	Render map[string]string `json:"render,omitempty"`
	// ETag is the stored version, for optimistic concurrency; empty on a
	// new record.
	ETag string `json:"-"`
}

// Normalize fills defaults, trims fields and drops repeated members and
// vocabulary tags (keeping the first of each).
func (h *Hub) Normalize() {
	h.Title = strings.TrimSpace(h.Title)
	h.Contact = strings.TrimSpace(h.Contact)
	h.Type = strings.ToLower(strings.TrimSpace(h.Type))
	if h.Type == "" {
		h.Type = TypeWhere
	}
	if h.TZ == "" {
		h.TZ = "UTC"
	}
	if h.HorizonDays == 0 {
		h.HorizonDays = DefaultHorizonDays
	}
	if h.IntervalHours == 0 {
		h.IntervalHours = DefaultIntervalHours
	}
	h.Vocabulary = normalizeTags(h.Vocabulary)
	h.Members = dedupe(h.Members)
}

// dedupe trims each id and drops repeats, keeping the first of each and
// the order; nil stays nil.
func dedupe(ids []string) []string {
	if len(ids) == 0 {
		return ids
	}
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// Validate is ValidateWith the default Limits.
func (h *Hub) Validate() error { return h.ValidateWith(Limits{}) }

// ValidateWith checks every field against l and returns a
// *ValidationError naming each bad one. Call Normalize first, so repeated
// members count once. It needs no storage: that member hubs exist, and
// that a curator may name them, is for the caller to check.
func (h *Hub) ValidateWith(l Limits) error {
	l = l.withDefaults()
	f := fieldErrors{}
	if !ValidID(h.ID) {
		f.add("id", "must be 1-64 letters, digits, '_' or '-'")
	} else if Reserved(h.ID) {
		f.add("id", fmt.Sprintf("%q is taken by the service's own URLs", h.ID))
	}
	if h.Title == "" || len(h.Title) > 200 {
		f.add("title", "required, at most 200 characters")
	}
	switch h.Type {
	case TypeWhere, TypeWhat, TypeRegion:
	default:
		f.add("type", "must be where, what or region")
	}
	if _, err := time.LoadLocation(h.TZ); err != nil || h.TZ == "Local" {
		f.add("tz", "must be an IANA time zone such as America/New_York")
	}
	if h.HorizonDays < 1 || h.HorizonDays > 3660 {
		f.add("horizon_days", "must be 1-3660")
	}
	if h.IntervalHours < 1 || h.IntervalHours > 24*30 {
		f.add("interval_hours", "must be 1-720")
	}
	if len(h.Contact) > 200 {
		f.add("contact", "at most 200 characters")
	}
	if h.Type == TypeRegion {
		switch {
		case len(h.Members) == 0:
			f.add("members", "a region needs member hubs")
		case len(h.Members) > l.MaxRegionMembers:
			f.add("members", fmt.Sprintf("at most %d member hubs, not %d", l.MaxRegionMembers, len(h.Members)))
		}
		for _, m := range h.Members {
			switch {
			case !ValidID(m):
				f.add("members", fmt.Sprintf("%q is not a valid hub id", clip(m)))
			case m == h.ID:
				f.add("members", fmt.Sprintf("%q is this region itself; a region may not list itself", m))
			}
		}
	} else if len(h.Members) > 0 {
		f.add("members", "only a region has member hubs")
	}
	f.checkTags("vocabulary", "tag", h.Vocabulary, MaxVocabulary)
	if len(h.Render) > MaxRenderOptions {
		f.add("render", fmt.Sprintf("at most %d options", MaxRenderOptions))
	}
	for k, v := range h.Render {
		if k == "" || len(k) > MaxRenderKeyBytes || len(v) > MaxRenderValueBytes {
			f.add("render", fmt.Sprintf("option names are 1-%d bytes and values at most %d bytes", MaxRenderKeyBytes, MaxRenderValueBytes))
		}
	}
	if _, bad := ParseLook(h.Render); len(bad) > 0 {
		names := make([]string, 0, len(bad))
		for k := range bad {
			names = append(names, k)
		}
		sort.Strings(names)
		f.add("render", names[0]+": "+bad[names[0]])
	}
	return f.err()
}

// longTag returns the first tag over MaxTagBytes, or "".
func longTag(tags []string) string {
	for _, t := range tags {
		if len(t) > MaxTagBytes {
			return t
		}
	}
	return ""
}

// checkTags records a list of tags longer than most, or with a tag over
// MaxTagBytes, against field; noun names one of them.
func (f fieldErrors) checkTags(field, noun string, tags []string, most int) {
	if len(tags) > most {
		f.add(field, fmt.Sprintf("at most %d entries", most))
	}
	if t := longTag(tags); t != "" {
		f.add(field, fmt.Sprintf("%s %q is over %d bytes", noun, clip(t), MaxTagBytes))
	}
}

// clip shortens s for an error message that quotes it.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "..."
	}
	return s
}

// Location is the hub's time zone.
func (h *Hub) Location() *time.Location {
	loc, err := time.LoadLocation(h.TZ)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Interval is the hub's refresh interval.
func (h *Hub) Interval() time.Duration { return time.Duration(h.IntervalHours) * time.Hour }

// Feed is one contributor's ICS feed in a hub. Field names follow the
// original service's.
type Feed struct {
	ID         string            `json:"id"`
	FeedURL    string            `json:"feedurl"`
	URL        string            `json:"url"`
	Source     string            `json:"source"`
	Categories []string          `json:"categories"`
	CatMap     map[string]string `json:"catmap"`
	Approved   bool              `json:"approved"`
	Comments   string            `json:"comments"`
	// Kind says what FeedURL serves (feedkind.Kind): "" or "ics" for
	// iCalendar, else jsonld, csv, json, rss or script.
	Kind string `json:"kind,omitempty"`
	// Mapping maps the columns or fields of a csv, json or rss feed to
	// event fields (feedkind.Mapping).
	Mapping *feedkind.Mapping `json:"mapping,omitempty"`
	// Adapter names the adapter script (adapters/{Adapter}.js) of a
	// script feed, which starts from FeedURL.
	Adapter string `json:"adapter,omitempty"`
	// Hosts are the hosts besides FeedURL's that a script feed's
	// adapter may fetch from.
	Hosts []string `json:"hosts,omitempty"`
	ETag  string   `json:"-"`
}

// Normalize trims fields, rewrites webcal:// to https://, lowercases tags
// and derives the ID from the feed URL.
func (f *Feed) Normalize() {
	f.FeedURL = NormalizeFeedURL(f.FeedURL)
	f.URL = strings.TrimSpace(f.URL)
	f.Source = strings.TrimSpace(f.Source)
	f.Comments = strings.TrimSpace(f.Comments)
	f.Categories = normalizeTags(f.Categories)
	f.Kind = strings.ToLower(strings.TrimSpace(f.Kind))
	if f.Kind == string(feedkind.KindICS) {
		f.Kind = ""
	}
	f.Adapter = strings.TrimSpace(f.Adapter)
	for i, h := range f.Hosts {
		f.Hosts[i] = strings.ToLower(strings.TrimSpace(h))
	}
	if len(f.CatMap) > 0 {
		m := make(map[string]string, len(f.CatMap))
		for k, v := range f.CatMap {
			k, v = normalizeTag(k), normalizeTag(v)
			if k != "" && v != "" {
				m[k] = v
			}
		}
		f.CatMap = m
	}
	if f.FeedURL != "" {
		f.ID = FeedID(f.FeedURL)
	}
}

// Bounds on a feed's tag fields; MaxTagBytes bounds each tag.
const (
	MaxCategories = 50
	MaxCatMap     = 500
)

// Validate checks every field; call Normalize first.
func (f *Feed) Validate() error {
	fe := fieldErrors{}
	if msg := checkURL(f.FeedURL, true); msg != "" {
		fe.add("feedurl", msg)
	}
	if f.URL != "" {
		if msg := checkURL(f.URL, false); msg != "" {
			fe.add("url", msg)
		}
	}
	if f.Source == "" || len(f.Source) > 200 {
		fe.add("source", "required, at most 200 characters")
	}
	fe.checkTags("categories", "category", f.Categories, MaxCategories)
	if len(f.CatMap) > MaxCatMap {
		fe.add("catmap", fmt.Sprintf("at most %d mappings", MaxCatMap))
	}
	for k, v := range f.CatMap {
		if len(k) > MaxTagBytes || len(v) > MaxTagBytes {
			fe.add("catmap", fmt.Sprintf("each side of a mapping is at most %d bytes", MaxTagBytes))
		}
	}
	if len(f.Comments) > 4000 {
		fe.add("comments", "at most 4000 characters")
	}
	f.validateKind(fe)
	return fe.err()
}

// MaxAdapterHosts bounds Feed.Hosts.
const MaxAdapterHosts = 10

// adapterName is what an adapter script's name may be: it names
// adapters/{name}.js.
var adapterName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// validateKind checks the feed's kind and what it needs: a mapping for
// csv and json (optional for jsonld and rss: a zone, elements), an
// adapter name for script.
func (f *Feed) validateKind(fe fieldErrors) {
	k, err := feedkind.ParseKind(f.Kind)
	if err != nil {
		fe.add("kind", "one of "+kindList())
		return
	}
	if f.Mapping != nil {
		if k == feedkind.KindICS || k == feedkind.KindScript {
			fe.add("mapping", "an ics or script feed takes no mapping")
		} else if err := f.Mapping.Validate(k); err != nil {
			fe.add("mapping", mappingProblems(err))
		}
	} else if k == feedkind.KindCSV || k == feedkind.KindJSON {
		fe.add("mapping", "required for a "+string(k)+" feed: which columns hold the title and the start")
	}
	switch {
	case k == feedkind.KindScript && !adapterName.MatchString(f.Adapter):
		fe.add("adapter", "required for a script feed: the name of adapters/{name}.js (lowercase letters, digits, - and _)")
	case k != feedkind.KindScript && f.Adapter != "":
		fe.add("adapter", "only a script feed has an adapter")
	}
	if len(f.Hosts) > 0 && k != feedkind.KindScript {
		fe.add("hosts", "only a script feed's adapter fetches from other hosts")
	}
	if len(f.Hosts) > MaxAdapterHosts {
		fe.add("hosts", fmt.Sprintf("at most %d", MaxAdapterHosts))
	}
	for _, h := range f.Hosts {
		if h == "" || len(h) > 253 || strings.ContainsAny(h, "/:@ ") {
			fe.add("hosts", "each a host name, such as events.example.org")
			break
		}
	}
}

// mappingProblems says what Mapping.Validate found, one problem after
// another, without the sentinel each wraps.
func mappingProblems(err error) string {
	var out []string
	for line := range strings.SplitSeq(err.Error(), "\n") {
		out = append(out, strings.TrimSuffix(line, ": "+feedkind.ErrInvalidMapping.Error()))
	}
	return strings.Join(out, "; ")
}

// kindList lists the feed kinds for messages.
func kindList() string {
	ks := feedkind.Kinds()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func checkURL(s string, feed bool) string {
	if s == "" {
		return "required"
	}
	if len(s) > 2048 {
		return "at most 2048 characters"
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "not an absolute URL"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		if feed {
			return "must be http, https or webcal"
		}
		return "must be http or https"
	}
	if u.User != nil {
		return "credentials in the URL are not allowed"
	}
	return ""
}

// NormalizeFeedURL trims the URL, maps webcal:// (and webcals://) to
// https://, and lowercases the scheme and host, so that one feed has one
// identity whatever way a curator typed it.
func NormalizeFeedURL(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return s
	}
	switch strings.ToLower(u.Scheme) {
	case "webcal", "webcals":
		u.Scheme = "https"
	default:
		u.Scheme = strings.ToLower(u.Scheme)
	}
	u.Host = strings.ToLower(u.Host)
	if u.Scheme == "https" {
		u.Host = strings.TrimSuffix(u.Host, ":443")
	}
	if u.Scheme == "http" {
		u.Host = strings.TrimSuffix(u.Host, ":80")
	}
	u.Fragment = ""
	return u.String()
}

// FeedID derives a table-safe row key from a normalized feed URL of any
// length and any characters: 32 hex digits of its SHA-256.
func FeedID(feedURL string) string {
	sum := sha256.Sum256([]byte(feedURL))
	return hex.EncodeToString(sum[:16])
}

var feedIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidFeedID reports whether s has the shape FeedID produces.
func ValidFeedID(s string) bool { return feedIDPattern.MatchString(s) }

func normalizeTag(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

func normalizeTags(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, t := range in {
		t = normalizeTag(t)
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}
