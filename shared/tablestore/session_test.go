package tablestore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/tablestore"
)

// TestSessions is the contract the console relies on: a session lives
// until it expires or is deleted, and its binding to a curator's token
// breaks when the token is rotated or the curator revoked.
func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newLimitedStore(t, tablestore.Limits{})
	mustHubs(t, s, "keene")
	cur, token, err := s.CreateCurator(ctx, "Ann", []string{"keene"})
	if err != nil {
		t.Fatal(err)
	}
	got, bind, err := s.AuthenticateForSession(ctx, token)
	if err != nil || got.ID != cur.ID || bind == "" {
		t.Fatalf("AuthenticateForSession() = %+v, %q, %v", got, bind, err)
	}
	if strings.Contains(bind, token) {
		t.Errorf("binding %q holds the token", bind)
	}
	if _, _, err := s.AuthenticateForSession(ctx, token+"x"); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("AuthenticateForSession(bad token) = %v, want ErrNotFound", err)
	}
	if c, err := s.CuratorBinding(ctx, cur.ID, bind); err != nil || c.ID != cur.ID {
		t.Errorf("CuratorBinding() = %+v, %v", c, err)
	}

	id := strings.Repeat("ab", 32)
	sess := tablestore.Session{ID: id, CuratorID: cur.ID, Bind: bind, CSRF: "csrf", Created: clk.Now(), Expires: clk.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatalf("CreateSession() = %v", err)
	}
	if err := s.CreateSession(ctx, sess); !errors.Is(err, tablestore.ErrExists) {
		t.Errorf("CreateSession(same id) = %v, want ErrExists", err)
	}
	back, err := s.GetSession(ctx, id)
	if err != nil || back.CuratorID != cur.ID || back.Bind != bind || back.CSRF != "csrf" || !back.Expires.Equal(sess.Expires) {
		t.Errorf("GetSession() = %+v, %v, want %+v", back, err, sess)
	}
	for _, bad := range []string{"", "nothex", strings.Repeat("cd", 32)} {
		if _, err := s.GetSession(ctx, bad); !errors.Is(err, tablestore.ErrNotFound) {
			t.Errorf("GetSession(%q) = %v, want ErrNotFound", bad, err)
		}
	}

	// Rotation breaks the binding; so does revocation.
	if _, _, err := s.RotateCuratorToken(ctx, cur.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CuratorBinding(ctx, cur.ID, bind); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("CuratorBinding() after rotation = %v, want ErrNotFound", err)
	}
	if err := s.DeleteCurator(ctx, cur.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CuratorBinding(ctx, cur.ID, bind); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("CuratorBinding() after revocation = %v, want ErrNotFound", err)
	}

	// Expiry: an expired session is not found, and purging removes
	// expired ones only.
	later := strings.Repeat("ef", 32)
	if err := s.CreateSession(ctx, tablestore.Session{ID: later, Bind: "admin", CSRF: "c", Created: clk.Now(), Expires: clk.Now().Add(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Hour)
	if n, err := s.PurgeSessions(ctx, 10); err != nil || n != 1 {
		t.Errorf("PurgeSessions() = %d, %v, want 1", n, err)
	}
	if _, err := s.GetSession(ctx, id); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("GetSession(expired) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetSession(ctx, later); err != nil {
		t.Errorf("GetSession(live) = %v", err)
	}
	if err := s.DeleteSession(ctx, later); err != nil {
		t.Errorf("DeleteSession() = %v", err)
	}
	if _, err := s.GetSession(ctx, later); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("GetSession(deleted) = %v, want ErrNotFound", err)
	}
}
