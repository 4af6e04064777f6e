// Renders a Go text/template with JSON data, or lists its actions, with text/template itself.
//
// Used by tests/e2e/templates.rs only (built there into a temporary directory):
//
//	render TEMPLATE DATA.json   prints the rendering (missing keys are errors)
//	tags TEMPLATE               prints every action text/template's parser reads, one per line
//
// so a test can compare a template's actions before and after csppatch without trusting
// csppatch's lexer. An nginx-ui template's header (from "# Nginx UI Template Start" to
// "# Nginx UI Template End") is removed first, as nginx-ui does before rendering. `getenv NAME
// [DEFAULT]` reads the environment, as wodby's gotpl templates expect.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
	"text/template/parse"
)

var funcs = template.FuncMap{
	"getenv": func(name string, def ...string) string {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		if len(def) > 0 {
			return def[0]
		}
		return ""
	},
}

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

func walk(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(c)
		}
	case *parse.TextNode:
	case *parse.IfNode:
		fmt.Printf("if %s\n", n.Pipe)
		walk(n.List)
		fmt.Println("else")
		walk(n.ElseList)
		fmt.Println("end")
	case *parse.RangeNode:
		fmt.Printf("range %s\n", n.Pipe)
		walk(n.List)
		fmt.Println("else")
		walk(n.ElseList)
		fmt.Println("end")
	case *parse.WithNode:
		fmt.Printf("with %s\n", n.Pipe)
		walk(n.List)
		fmt.Println("else")
		walk(n.ElseList)
		fmt.Println("end")
	default:
		fmt.Println(n.String())
	}
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: render render|tags TEMPLATE [DATA.json]")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	src := stripHeader(string(raw))
	switch os.Args[1] {
	case "render":
		var data map[string]any
		js, err := os.ReadFile(os.Args[3])
		if err == nil {
			err = json.Unmarshal(js, &data)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		t, err := template.New("t").Funcs(funcs).Option("missingkey=error").Parse(src)
		if err == nil {
			err = t.Execute(os.Stdout, data)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "tags":
		t := parse.New("t")
		t.Mode = parse.ParseComments
		_, err := t.Parse(src, "{{", "}}", map[string]*parse.Tree{}, funcs, map[string]any{"and": 1, "or": 1, "not": 1, "eq": 1, "ne": 1, "printf": 1, "print": 1})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		walk(t.Root)
	}
}
