package tablelog_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/elmcity/elmcity/shared/azstorage"
)

type batchOutcome int

const (
	batchOK      batchOutcome = iota // stored, 202 with a 204 per entity
	batchRefused                     // 202 with an inner 400: nothing stored
	batchBusy                        // 503 ServerBusy: transient
)

// fakeTables is just enough of the Table service, on 127.0.0.1, to drive
// the Log into states Azurite will not produce on demand: a hanging
// service, refused transactions, transient errors.
type fakeTables struct {
	srv *httptest.Server
	// onBatch decides the outcome of the n-th transaction (from 1); it may
	// block. Set before the Log is opened.
	onBatch func(n int) batchOutcome
	// onInsert returns the status for a single insert: 204 stores it.
	onInsert func(message string) int
	// firstBatch is closed when the first transaction arrives.
	firstBatch chan struct{}
	// message finds the messages in a transaction body.
	message *regexp.Regexp

	once    sync.Once
	mu      sync.Mutex
	batches int
	stored  []string
}

func newFakeTables(t testing.TB) *fakeTables {
	t.Helper()
	f := &fakeTables{firstBatch: make(chan struct{}), message: regexp.MustCompile(`"Message":"([^"]*)"`)}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// account returns an account whose table endpoint is the fake, with the
// SDK's own retries off so the Log's retries are what is tested.
func (f *fakeTables) account(t testing.TB) *azstorage.Account {
	t.Helper()
	ep := f.srv.URL + "/" + azstorage.DevAccountName
	conn := "DefaultEndpointsProtocol=http;AccountName=" + azstorage.DevAccountName + ";AccountKey=" + azstorage.DevAccountKey +
		";TableEndpoint=" + ep + ";QueueEndpoint=" + ep + ";"
	acct, err := azstorage.Open(conn, azstorage.Options{MaxRetries: -1})
	if err != nil {
		t.Fatalf("open fake account: %v", err)
	}
	return acct
}

func (f *fakeTables) batchCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.batches
}

func (f *fakeTables) storedMessages() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.stored...)
}

func (f *fakeTables) store(msgs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stored = append(f.stored, msgs...)
}

func (f *fakeTables) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Tables"):
		w.Header().Set("Content-Type", "application/json;odata=minimalmetadata")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"TableName":"fakelog"}`)

	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/$batch"):
		f.mu.Lock()
		f.batches++
		n := f.batches
		f.mu.Unlock()
		f.once.Do(func() { close(f.firstBatch) })
		outcome := batchOK
		if f.onBatch != nil {
			outcome = f.onBatch(n)
		}
		switch outcome {
		case batchOK:
			var msgs []string
			for _, m := range f.message.FindAllSubmatch(body, -1) {
				msgs = append(msgs, string(m[1]))
			}
			f.store(msgs...)
			writeBatchResponse(w, "204 No Content", "")
		case batchRefused:
			writeBatchResponse(w, "400 Bad Request", serviceError("InvalidInput"))
		case batchBusy:
			writeServiceError(w, http.StatusServiceUnavailable, "ServerBusy")
		}

	case r.Method == http.MethodPost: // single insert
		var e struct{ Message string }
		if err := json.Unmarshal(body, &e); err != nil {
			writeServiceError(w, http.StatusBadRequest, "InvalidInput")
			return
		}
		status := http.StatusNoContent
		if f.onInsert != nil {
			status = f.onInsert(e.Message)
		}
		if status != http.StatusNoContent {
			writeServiceError(w, status, "InvalidInput")
			return
		}
		f.store(e.Message)
		w.WriteHeader(http.StatusNoContent)

	default:
		writeServiceError(w, http.StatusNotImplemented, "NotImplemented")
	}
}

func serviceError(code string) string {
	return `{"odata.error":{"code":"` + code + `","message":{"lang":"en-US","value":"fake"}}}`
}

func writeServiceError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json;odata=minimalmetadata")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, serviceError(code))
}

// writeBatchResponse answers a transaction the way the service does: 202
// with a multipart body holding one changeset response.
func writeBatchResponse(w http.ResponseWriter, innerStatus, innerBody string) {
	const batch, changeset = "batchresponse_fake", "changesetresponse_fake"
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+batch)
	w.WriteHeader(http.StatusAccepted)
	_, _ = fmt.Fprintf(w, "--%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n"+
		"--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"+
		"HTTP/1.1 %s\r\nContent-Type: application/json;odata=minimalmetadata\r\n\r\n%s\r\n"+
		"--%s--\r\n--%s--\r\n",
		batch, changeset, changeset, innerStatus, innerBody, changeset, batch)
}
