package main

import (
	"reflect"
	"testing"

	"github.com/lkg-dev/lkg/suspects"
)

func TestRiskRulesFromConfig(t *testing.T) {
	got, err := riskRulesFromConfig(map[string]any{
		"build":   []any{},                // off
		"payment": []any{"app/main.go"},   // new
		"config":  []any{"config/*.yaml"}, // replaced
		"infra":   "*.tf",                 // one pattern
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []suspects.RiskRule
	for _, r := range suspects.DefaultRiskRules() {
		switch r.Category {
		case suspects.RiskBuild:
			r.Patterns = nil
		case suspects.RiskConfig:
			r.Patterns = []string{"config/*.yaml"}
		case suspects.RiskInfra:
			r.Patterns = []string{"*.tf"}
		}
		want = append(want, r)
	}
	want = append(want, suspects.RiskRule{Category: "payment", Patterns: []string{"app/main.go"}})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules =\n%v\nwant\n%v", got, want)
	}
	if got, err := riskRulesFromConfig(nil); err != nil || !reflect.DeepEqual(got, suspects.DefaultRiskRules()) {
		t.Errorf("no risk key: %v, %v; want the defaults", got, err)
	}
	for _, bad := range []any{"x", map[string]any{"a": 3}, map[string]any{"a": []any{3}}, map[string]any{"a": []any{"["}}} {
		if _, err := riskRulesFromConfig(bad); err == nil {
			t.Errorf("riskRulesFromConfig(%v): no error", bad)
		}
	}
}
