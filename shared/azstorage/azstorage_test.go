package azstorage_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
)

func TestExpandConnectionString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "Empty", in: "", want: azstorage.DevConnectionString},
		{name: "Shortcut", in: "UseDevelopmentStorage=true", want: azstorage.DevConnectionString},
		{name: "ShortcutTrailingSemicolon", in: " UseDevelopmentStorage=true; ", want: azstorage.DevConnectionString},
		{name: "ShortcutProxy", in: "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://azurite",
			want: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + azstorage.DevAccountKey +
				";BlobEndpoint=http://azurite:10000/devstoreaccount1;QueueEndpoint=http://azurite:10001/devstoreaccount1;TableEndpoint=http://azurite:10002/devstoreaccount1;"},
		{name: "RealAccountUnchanged", in: "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=a2V5;EndpointSuffix=core.windows.net",
			want: "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=a2V5;EndpointSuffix=core.windows.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := azstorage.ExpandConnectionString(tt.in); got != tt.want {
				t.Errorf("ExpandConnectionString(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		conn    string
		wantErr bool
		wantAcc string
	}{
		{name: "Dev", conn: "", wantAcc: "devstoreaccount1"},
		{name: "RealKey", conn: "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=a2V5;EndpointSuffix=core.windows.net", wantAcc: "acme"},
		{name: "SASWithEndpoints", conn: "TableEndpoint=https://acme.table.core.windows.net/;QueueEndpoint=https://acme.queue.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sig=x"},
		{name: "Garbage", conn: "not a connection string", wantErr: true},
		{name: "NoAccount", conn: "DefaultEndpointsProtocol=https;EndpointSuffix=core.windows.net", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			acct, err := azstorage.Open(tt.conn, azstorage.Options{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Open() error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, azstorage.ErrConnectionString) {
					t.Errorf("Open() error = %v, want ErrConnectionString", err)
				}
				return
			}
			if acct.Name() != tt.wantAcc {
				t.Errorf("Name() = %q, want %q", acct.Name(), tt.wantAcc)
			}
		})
	}
}

func TestPingAzurite(t *testing.T) {
	t.Parallel()
	acct := storagetest.Account(t)
	if err := acct.Ping(context.Background()); err != nil {
		t.Fatalf("Ping() = %v", err)
	}
}

func TestWrapNotFound(t *testing.T) {
	t.Parallel()
	acct := storagetest.Account(t)
	tc := acct.Tables().NewClient(storagetest.Name(t, "missing"))
	_, err := tc.GetEntity(context.Background(), "p", "r", nil)
	err = azstorage.Wrap(err)
	if !errors.Is(err, azstorage.ErrNotFound) {
		t.Fatalf("Wrap(GetEntity on missing table) = %v, want ErrNotFound", err)
	}
	if azstorage.StatusCode(err) != 404 || azstorage.ErrorCode(err) == "" {
		t.Errorf("StatusCode, ErrorCode = %d, %q", azstorage.StatusCode(err), azstorage.ErrorCode(err))
	}
	if azstorage.Transient(err) {
		t.Errorf("Transient(404) = true")
	}
}

// TestTryTimeoutBoundsAStalledService checks that a service which takes
// the connection and never answers (a frozen emulator) fails a call at
// the try timeout rather than holding it for as long as its context.
func TestTryTimeoutBoundsAStalledService(t *testing.T) {
	t.Parallel()
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(stalled.Close)
	conn := "DefaultEndpointsProtocol=http;AccountName=" + azstorage.DevAccountName + ";AccountKey=" + azstorage.DevAccountKey +
		";TableEndpoint=" + stalled.URL + "/" + azstorage.DevAccountName + ";QueueEndpoint=" + stalled.URL + "/" + azstorage.DevAccountName + ";"
	acct, err := azstorage.Open(conn, azstorage.Options{TryTimeout: 100 * time.Millisecond, MaxRetries: 1, RetryDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- acct.Ping(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Ping() of a stalled service = nil, want an error")
		}
	case <-time.After(20 * time.Second): // far beyond 2 tries of 100ms, far below the context's minute
		t.Fatal("Ping() of a stalled service did not return: no try timeout")
	}
}
