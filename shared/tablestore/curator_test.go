package tablestore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/tablestore"
)

func TestCuratorTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestStore(t)

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
}

func TestCreateCuratorValidates(t *testing.T) {
	t.Parallel()
	s := newTestStore(t)
	_, _, err := s.CreateCurator(context.Background(), "", []string{"ok", "not ok"})
	var ve *hub.ValidationError
	if !errors.As(err, &ve) || ve.Fields["name"] == "" || ve.Fields["hubs"] == "" {
		t.Errorf("CreateCurator(bad) = %v, want field errors for name and hubs", err)
	}
}
