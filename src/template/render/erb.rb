# csppatch: render an ERB template for `--validate` (src/template/render.rs).
# usage: ruby erb.rb TEMPLATE VARS.json > RENDERED
# With trim_mode '-', as Chef and Puppet render; each top-level variable is an instance
# variable (`@name`). An `@name` the template uses that VARS.json does not set would render
# as nothing: such names exit 3 with "missing: a, b" on stderr.
require 'erb'
require 'json'

source = File.read(ARGV[0])
vars = JSON.parse(File.read(ARGV[1]))
used = source.scan(/<%.*?%>/m).join(' ').scan(/@([A-Za-z_]\w*)/).flatten.uniq
missing = used - vars.keys
unless missing.empty?
  warn "missing: #{missing.join(', ')}"
  exit 3
end
scope = Object.new
vars.each { |k, v| scope.instance_variable_set("@#{k}", v) }
print ERB.new(source, trim_mode: '-').result(scope.instance_eval { binding })
