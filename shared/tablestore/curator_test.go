package tablestore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/tablestore"
)

// mustHubs creates hubs with the given ids.
func mustHubs(t testing.TB, s *tablestore.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := s.CreateHub(context.Background(), hub.Hub{ID: id, Title: id}); err != nil {
			t.Fatalf("CreateHub(%s) = %v", id, err)
		}
	}
}

func TestCuratorTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestStore(t)
	mustHubs(t, s, "keene", "nh")

	c, token, err := s.CreateCurator(ctx, "Ann", []string{"keene", "nh"})
	if err != nil {
		t.Fatalf("CreateCurator() = %v", err)
	}
	got, err := s.Authenticate(ctx, token)
	if err != nil {
		t.Fatalf("Authenticate(token) = %v", err)
	}
	if got.ID != c.ID || !got.Can("keene") || !got.Can("nh") || got.Can("other") {
		t.Errorf("Authenticate() = %+v, want %+v", got, c)
	}

	wrong := token[:len(token)-1] + map[bool]string{true: "A", false: "B"}[!strings.HasSuffix(token, "A")]
	for name, bad := range map[string]string{
		"WrongSecret": wrong,
		"Empty":       "",
		"Garbage":     "Bearer nonsense",
		"UnknownID":   "ect_0000000000000000_" + strings.Repeat("a", 43),
	} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, tablestore.ErrNotFound) {
			t.Errorf("Authenticate(%s) = %v, want ErrNotFound", name, err)
		}
	}

	if err := s.DeleteCurator(ctx, c.ID); err != nil {
		t.Fatalf("DeleteCurator() = %v", err)
	}
	if _, err := s.Authenticate(ctx, token); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("Authenticate(revoked) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteCurator(ctx, c.ID); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("DeleteCurator(revoked) = %v, want ErrNotFound", err)
	}
}

func TestCreateCuratorValidates(t *testing.T) {
	t.Parallel()
	s := newTestStore(t)
	mustHubs(t, s, "keene")
	many := make([]string, tablestore.MaxCuratorHubs+1)
	for i := range many {
		many[i] = fmt.Sprintf("hub%d", i)
	}
	tests := []struct {
		name       string
		curator    string
		hubs       []string
		wantFields map[string]string // field: a substring of its message
	}{
		{name: "NameAndBadID", curator: "", hubs: []string{"keene", "not ok"}, wantFields: map[string]string{"name": "required", "hubs": `"not ok"`}},
		{name: "UnknownHub", curator: "Ann", hubs: []string{"keene", "nosuch"}, wantFields: map[string]string{"hubs": `no hub "nosuch"`}},
		{name: "TooMany", curator: "Ann", hubs: many, wantFields: map[string]string{"hubs": fmt.Sprint(tablestore.MaxCuratorHubs)}},
		{name: "None", curator: "Ann", wantFields: map[string]string{"hubs": "list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := s.CreateCurator(context.Background(), tt.curator, tt.hubs)
			var ve *hub.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("CreateCurator() = %v, want a *hub.ValidationError", err)
			}
			for f, want := range tt.wantFields {
				if !strings.Contains(ve.Fields[f], want) {
					t.Errorf("CreateCurator() field %s = %q, want it to contain %q", f, ve.Fields[f], want)
				}
			}
		})
	}
	c, _, err := s.CreateCurator(context.Background(), "Ann", []string{"keene", " keene"})
	if err != nil || !slices.Equal(c.Hubs, []string{"keene"}) {
		t.Errorf("CreateCurator(repeated hub) = %+v, %v, want the hub once", c, err)
	}
}

// TestGrantsEndWithTheirHub checks that deleting a hub takes every grant
// to it: a curator of several hubs keeps the others, one of that hub only
// is revoked, and a new hub of the same name starts with no curators.
func TestGrantsEndWithTheirHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestStore(t)
	mustHubs(t, s, "delta", "keene")
	_, onlyDelta, err := s.CreateCurator(ctx, "Dee", []string{"delta"})
	if err != nil {
		t.Fatal(err)
	}
	both, bothToken, err := s.CreateCurator(ctx, "Bo", []string{"keene", "delta"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteHub(ctx, "delta"); err != nil {
		t.Fatalf("DeleteHub() = %v", err)
	}
	if _, err := s.Authenticate(ctx, onlyDelta); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("Authenticate(curator of the deleted hub only) = %v, want ErrNotFound (revoked)", err)
	}
	got, err := s.Authenticate(ctx, bothToken)
	if err != nil {
		t.Fatalf("Authenticate(curator of two hubs) = %v", err)
	}
	if diff := cmp.Diff([]string{"keene"}, got.Hubs); diff != "" || got.ID != both.ID {
		t.Errorf("hubs after DeleteHub (-want +got):\n%s", diff)
	}
	mustHubs(t, s, "delta")
	if got, _ := s.Authenticate(ctx, bothToken); got.Can("delta") {
		t.Errorf("a curator of the old delta can use the new one: %+v", got)
	}
}

func TestListCuratorsPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestStore(t)
	mustHubs(t, s, "keene")
	var want []tablestore.Curator
	for i := range 5 {
		c, _, err := s.CreateCurator(ctx, fmt.Sprint("curator ", i), []string{"keene"})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, c)
	}
	slices.SortFunc(want, func(a, b tablestore.Curator) int { return strings.Compare(a.ID, b.ID) })
	var got []tablestore.Curator
	after, pages := "", 0
	for {
		page, next, err := s.ListCurators(ctx, after, 2)
		if err != nil {
			t.Fatalf("ListCurators(%q, 2) = %v", after, err)
		}
		if len(page) > 2 {
			t.Fatalf("ListCurators(%q, 2) gave %d curators", after, len(page))
		}
		got = append(got, page...)
		pages++
		if next == "" {
			break
		}
		after = next
	}
	if pages != 3 {
		t.Errorf("ListCurators took %d pages of 2 for 5 curators, want 3", pages)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApproxTime(0)); diff != "" {
		t.Errorf("ListCurators() (-want +got):\n%s", diff)
	}
	var ve *hub.ValidationError
	if _, _, err := s.ListCurators(ctx, "x' or true", 2); !errors.As(err, &ve) || ve.Fields["after"] == "" {
		t.Errorf("ListCurators(bad after) = %v, want a validation error naming after", err)
	}
}

func TestRotateCuratorToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestStore(t)
	mustHubs(t, s, "keene")
	c, old, err := s.CreateCurator(ctx, "Ann", []string{"keene"})
	if err != nil {
		t.Fatal(err)
	}
	got, fresh, err := s.RotateCuratorToken(ctx, c.ID)
	if err != nil {
		t.Fatalf("RotateCuratorToken() = %v", err)
	}
	if fresh == old || got.ID != c.ID || !got.Can("keene") {
		t.Errorf("RotateCuratorToken() = %+v, %q; want the curator and a new token", got, fresh)
	}
	if _, err := s.Authenticate(ctx, old); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("Authenticate(old token) = %v, want ErrNotFound", err)
	}
	if a, err := s.Authenticate(ctx, fresh); err != nil || a.Name != "Ann" {
		t.Errorf("Authenticate(new token) = %+v, %v", a, err)
	}
	for _, id := range []string{"0000000000000000", "nope"} {
		if _, _, err := s.RotateCuratorToken(ctx, id); !errors.Is(err, tablestore.ErrNotFound) {
			t.Errorf("RotateCuratorToken(%q) = %v, want ErrNotFound", id, err)
		}
	}
}
