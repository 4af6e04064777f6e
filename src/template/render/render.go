// csppatch: render a Go text/template for `--validate` (src/template/render.rs).
// usage: render TEMPLATE VARS.json > RENDERED
//
// Missing keys are errors (missingkey=error); every one is collected (rendering again with it
// set empty) and reported: exit 3 with "missing: a, b" on stderr. An nginx-ui template's
// header is removed first, as nginx-ui does. `getenv NAME [DEFAULT]` (gotpl, wodby) reads
// NAME from the variables, then the environment.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"text/template"
)

var noEntry = regexp.MustCompile(`map has no entry for key "([^"]*)"`)

func stripHeader(src string) string {
	lines := strings.SplitAfter(src, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "# Nginx UI Template Start" {
			for j := i; j < len(lines); j++ {
				if strings.TrimSpace(lines[j]) == "# Nginx UI Template End" {
					return strings.Join(lines[:i], "") + strings.Join(lines[j+1:], "")
				}
			}
		}
	}
	return src
}

func main() {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var data map[string]interface{}
	js, err := os.ReadFile(os.Args[2])
	if err == nil {
		err = json.Unmarshal(js, &data)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	funcs := template.FuncMap{
		"getenv": func(name string, def ...string) string {
			if v, ok := data[name]; ok {
				return fmt.Sprint(v)
			}
			if v, ok := os.LookupEnv(name); ok {
				return v
			}
			if len(def) > 0 {
				return def[0]
			}
			return ""
		},
	}
	t, err := template.New("t").Funcs(funcs).Option("missingkey=error").Parse(stripHeader(string(raw)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var missing []string
	for tries := 0; tries < 100; tries++ {
		var out bytes.Buffer
		err = t.Execute(&out, data)
		if err == nil {
			if len(missing) > 0 {
				fmt.Fprintln(os.Stderr, "missing: "+strings.Join(missing, ", "))
				os.Exit(3)
			}
			os.Stdout.Write(out.Bytes())
			return
		}
		m := noEntry.FindStringSubmatch(err.Error())
		if m == nil {
			break
		}
		missing = append(missing, m[1])
		if data == nil {
			data = map[string]interface{}{}
		}
		data[m[1]] = ""
	}
	if len(missing) > 0 {
		fmt.Fprintln(os.Stderr, "missing: "+strings.Join(missing, ", "))
		os.Exit(3)
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
