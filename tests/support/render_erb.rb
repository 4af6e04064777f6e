# Render an ERB template with JSON variables, or list its tags, with Ruby's own ERB.
#
# Used by tests/e2e/templates.rs only: `render TEMPLATE VARS.json` prints the rendering with
# trim_mode '-' (as Chef and Puppet render), each top-level variable an instance variable
# (`@name`, as both expose them); `tags TEMPLATE` prints every tag ERB's scanner reads, one
# per line, so a test can compare a template's tags before and after csppatch without
# trusting csppatch's lexer.
require 'erb'
require 'json'

mode, path, vars = ARGV
source = File.read(path)
case mode
when 'render'
  scope = Object.new
  JSON.parse(File.read(vars)).each { |k, v| scope.instance_variable_set("@#{k}", v) }
  print ERB.new(source, trim_mode: '-').result(scope.instance_eval { binding })
when 'tags'
  # The scanner reads text until it is told a tag started (`stag`), as ERB::Compiler does.
  scanner = ERB::Compiler.new('-').make_scanner(source)
  tag = nil
  scanner.scan do |token|
    next if token.nil? || token == ''
    text = token.to_s
    if scanner.stag.nil?
      if ['<%', '<%=', '<%#'].include?(text)
        scanner.stag = text
        tag = +text
      elsif text == '<%%'
        puts text
      end
    else
      tag << text
      if ['%>', '-%>'].include?(text) || text.end_with?("%>\n")
        puts tag.inspect
        scanner.stag = nil
      end
    end
  end
else
  abort 'usage: render_erb.rb render|tags TEMPLATE [VARS.json]'
end
