package script_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/elmcity/elmcity/shared/script"
)

func ExampleEngine_Run() {
	dir, err := os.MkdirTemp("", "elmcity-scripts")
	if err != nil {
		panic(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	files := map[string]string{
		"hello.js": `var greet = require("./lib/greet");
result = greet(argv[0], elmcity.hub, params.punct);`,
		"lib/greet.js": `module.exports = function (who, hub, punct) { return "hello, " + who + " from " + hub + (punct || "."); };`,
		"spin.js":      `while (true) {}`,
	}
	for name, src := range files {
		_ = os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		_ = os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644)
	}

	e, err := script.New(script.Config{Source: dir, Timeout: 50 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	defer func() { _ = e.Close() }()

	out, err := e.Run(context.Background(), script.Request{
		Name: "hello", Argv: []string{"world"}, Params: map[string]string{"punct": "!"}, Hub: "elmcity",
	})
	fmt.Println(out, err)

	_, err = e.Run(context.Background(), script.Request{Name: "spin.js"})
	var se *script.Error
	fmt.Println(errors.Is(err, context.DeadlineExceeded), errors.As(err, &se) && se.File == "spin.js" && se.Line == 1)
	// Output:
	// hello, world from elmcity! <nil>
	// true true
}
