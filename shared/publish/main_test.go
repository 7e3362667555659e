package publish_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"go.uber.org/goleak"

	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/publish"
)

// TestMain fails the run if a goroutine outlives the tests (a transaction
// writer Publish did not wait for). Idle keep-alive connections of the
// SDK's HTTP transport are not ours.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

// testClock is an injected clock that moves one second per reading, so
// generation ids of one test sort in publication order, and jumps with
// Advance.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 12, 1, 19, 0, 0, 123456789, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testBundle is what setup gives a test: a Store on a fresh table, the
// account and table for raw SDK access, the Store's clock and its config.
type testBundle struct {
	acct  *azstorage.Account
	table string
	store *publish.Store
	clock *testClock
	cfg   publish.Config
	small bool // every Store of the bundle has the small layout
}

// setup opens a Store on a new table, deleted when the test ends. Table,
// Now and a nil Logger are filled in.
func setup(t testing.TB, cfg publish.Config) *testBundle {
	t.Helper()
	acct := storagetest.Account(t)
	b := &testBundle{acct: acct, table: storagetest.Table(t, acct, "pub"), clock: newTestClock()}
	cfg.Table = b.table
	cfg.Now = b.clock.Now
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b.cfg = cfg
	b.store = openStore(t, acct, cfg)
	return b
}

// setupSmall is setup with publish.SetSmallLayout: payloads of a few
// hundred KiB span several chunk entities and transactions.
func setupSmall(t testing.TB, cfg publish.Config) *testBundle {
	t.Helper()
	b := setup(t, cfg)
	b.small = true
	publish.SetSmallLayout(b.store)
	return b
}

// openStore opens a Store on acct, failing the test on error.
func openStore(t testing.TB, acct *azstorage.Account, cfg publish.Config) *publish.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := publish.Open(ctx, acct, cfg)
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	return s
}

// storeOn opens a second Store on the bundle's table and clock through
// another account (a faulty transport, say), as a second process would.
func (b *testBundle) storeOn(t testing.TB, acct *azstorage.Account, parallel int) *publish.Store {
	t.Helper()
	cfg := b.cfg
	cfg.Parallel = parallel
	s := openStore(t, acct, cfg)
	if b.small {
		publish.SetSmallLayout(s)
	}
	return s
}

// publish publishes payload as hub's next generation.
func (b *testBundle) publish(t testing.TB, hub string, payload []byte) publish.Generation {
	t.Helper()
	g, err := b.store.Publish(context.Background(), publish.Generation{Hub: hub, Payload: payload})
	if err != nil {
		t.Fatalf("Publish(%s, %d bytes) error = %v", hub, len(payload), err)
	}
	return g
}

// generations lists, with the SDK, the generation ids that have entities
// in hub's partition and how many entities each has.
func (b *testBundle) generations(t testing.TB, hub string) map[string]int {
	t.Helper()
	filter := "PartitionKey eq '" + hub + "' and RowKey ge 'g' and RowKey lt 'h'"
	sel := "RowKey"
	pager := b.acct.Tables().NewClient(b.table).NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel})
	out := make(map[string]int)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list entities: %v", err)
		}
		for _, raw := range page.Entities {
			var e struct{ RowKey string }
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			id, _, _ := strings.Cut(e.RowKey[1:], "-")
			out[id]++
		}
	}
	return out
}

// sum is the hex SHA-256 of p, as Pointer.SHA256 reports it.
func sum(p []byte) string {
	s := sha256.Sum256(p)
	return hex.EncodeToString(s[:])
}

// randomBytes returns n incompressible bytes; seed picks which.
func randomBytes(n int, seed byte) []byte {
	var key [32]byte
	key[0] = seed
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

var (
	testTitles = []string{"Jazz at the Colonial", "Farmers Market", "Story Time for Toddlers", "Contra Dance",
		"City Council Meeting", "Yoga in the Park", "Open Mic Night", "Book Club: The Overstory", "Watercolor Workshop",
		"Bird Walk at Goose Pond", "Chamber Orchestra Rehearsal", "Trivia Night", "Community Supper", "Robotics Club",
		"Film: Casablanca", "Maple Sugaring Demo", "Poetry Slam", "Blood Drive", "Swing Dance Lessons", "Astronomy Night"}
	testVenues = []string{"Colonial Theatre", "Keene Public Library", "Central Square", "Monadnock Food Co-op",
		"Keene State College", "Elm City Brewing", "Heberton Hall", "Redfern Arts Center", "Stonewall Farm", "Peterborough Town House"}
	testTags = []string{`"music","jazz"`, `"food","market"`, `"kids","library"`, `"dance"`, `"government"`,
		`"fitness","outdoors"`, `"music","open-mic"`, `"books"`, `"art","workshop"`, `"nature","birds"`}
)

// jsonLines builds n realistic occurrences as JSON lines (about 330 bytes
// each), with varied titles, venues, tags and times; seed picks which.
func jsonLines(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	zone := time.FixedZone("EST", -5*3600)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, zone)
	var b bytes.Buffer
	b.Grow(n * 340)
	for i := range n {
		start := base.Add(time.Duration(r.IntN(365*24*4)) * 15 * time.Minute)
		end := start.Add(time.Duration(1+r.IntN(8)) * 30 * time.Minute)
		venue := testVenues[r.IntN(len(testVenues))]
		fmt.Fprintf(&b, `{"uid":"%d-%08x@example.org","start":"%s","end":"%s","title":"%s #%d","location":"%s, %d Main St, Keene NH","url":"https://example.org/events/%d","tags":[%s],"sources":[{"name":"%s","url":"https://example.org/feeds/%x.ics"}]}`+"\n",
			i, r.Uint32(), start.Format(time.RFC3339), end.Format(time.RFC3339),
			testTitles[r.IntN(len(testTitles))], r.IntN(500), venue, 1+r.IntN(400), r.IntN(1000000),
			testTags[r.IntN(len(testTags))], venue, r.IntN(64))
	}
	return b.Bytes()
}

// faultTransport wraps a real HTTP client. before runs ahead of each
// request: an error fails the request unsent. after runs once the response
// arrived: an error replaces it, as if the connection dropped after the
// service acted.
type faultTransport struct {
	client *http.Client
	before func(*http.Request) error
	after  func(*http.Request) error
}

func (f *faultTransport) Do(req *http.Request) (*http.Response, error) {
	if f.before != nil {
		if err := f.before(req); err != nil {
			return nil, err
		}
	}
	resp, err := f.client.Do(req)
	if err != nil || f.after == nil {
		return resp, err
	}
	if err := f.after(req); err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// faultyAccount opens the test account through f, without retries, so a
// failure reaches the Store at once.
func faultyAccount(t testing.TB, f *faultTransport) *azstorage.Account {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	f.client = &http.Client{Transport: tr}
	acct, err := azstorage.Open(storagetest.ConnectionString(), azstorage.Options{MaxRetries: -1, Transport: f})
	if err != nil {
		t.Fatalf("open faulty account: %v", err)
	}
	return acct
}

// Request kinds the fault hooks pick out.
func isBatch(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "$batch")
}

func isPointerRead(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "RowKey='current'")
}

// isPointerWrite matches the pointer switch: a PUT of the pointer entity,
// or the single-entity POST that creates it (the Store posts nothing else
// outside transactions).
func isPointerWrite(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "RowKey='current'") ||
		r.Method == http.MethodPost && !isBatch(r) && !strings.HasSuffix(r.URL.Path, "/Tables")
}

// waitOrTimeout waits for ch to close.
func waitOrTimeout(t testing.TB, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(2 * time.Minute):
		t.Fatal("timed out waiting")
	}
}
