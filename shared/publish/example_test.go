package publish_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/publish"
)

// The aggregation engine publishes a hub's merged events; the web role
// polls Current, which is one small entity, and loads the calendar only
// when the generation changed. (This example runs against the test
// storage account, Azurite by default.)
func Example() {
	ctx := context.Background()
	acct, err := azstorage.Open(storagetest.ConnectionString(), azstorage.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	table := "examplepublish" + hex.EncodeToString(r[:])
	defer func() { _, _ = acct.Tables().DeleteTable(ctx, table, nil) }()
	store, err := publish.Open(ctx, acct, publish.Config{Table: table})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Worker: publish the merged calendar.
	events := []byte(`{"uid":"1@example.org","start":"2026-12-01T19:00:00-05:00","title":"Jazz at the Colonial"}` + "\n")
	g, err := store.Publish(ctx, publish.Generation{Hub: "elmcity", Payload: events, Meta: map[string]string{"events": "1"}})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Web role: has the calendar changed since the cached generation?
	cached := ""
	p, err := store.Current(ctx, "elmcity")
	if err != nil {
		fmt.Println(err)
		return
	}
	if p.ID != cached {
		loaded, err := store.Load(ctx, "elmcity")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(loaded.ID == g.ID, p.Meta["events"], p.Size)
		fmt.Print(string(loaded.Payload))
	}
	// Output:
	// true 1 91
	// {"uid":"1@example.org","start":"2026-12-01T19:00:00-05:00","title":"Jazz at the Colonial"}
}
