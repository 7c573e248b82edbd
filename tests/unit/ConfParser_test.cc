#include "ConfParser.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace hs {
namespace {

// Renders a tree compactly: name(arg,arg){children} with directives separated by ';'.
std::string show(const std::vector<ConfNode>& nodes) {
  std::string out;
  for (const ConfNode& n : nodes) {
    out += n.name + "(";
    for (size_t i = 0; i < n.args.size(); ++i) out += (i > 0 ? "," : "") + n.args[i];
    out += ")";
    if (n.block) out += "{" + show(n.children) + "}";
    out += ";";
  }
  return out;
}

TEST(ConfParserTest, ParsesWordsQuotesEscapesAndBlocks) {
  struct Case {
    const char* name;
    const char* text;
    const char* tree;
  };
  const Case cases[] = {
      {"empty", "", ""},
      {"one directive", "root /a;", "root(/a);"},
      {"block", "server { listen 80; }", "server(){listen(80);};"},
      {"nested blocks", "server {\n location / {\n  root /x;\n }\n}\n",
       "server(){location(/){root(/x);};};"},
      {"multi-line directive", "server {\n server_name a\n   b;\n}",
       "server(){server_name(a,b);};"},
      {"single quotes", "server { return 200 'a b;{}#'; }", "server(){return(200,a b;{}#);};"},
      {"double quotes", "server { return 200 \"x 'y'\"; }", "server(){return(200,x 'y');};"},
      {"escaped quote", "server { return 200 'it\\'s'; }", "server(){return(200,it's);};"},
      {"escaped backslash", "server { return 200 \"a\\\\b\"; }", "server(){return(200,a\\b);};"},
      {"control escapes", "server { return 200 \"a\\nb\\t\"; }", "server(){return(200,a\nb\t);};"},
      {"other escapes stay", "server { location ~ \\.(png|jpg)$ {} }",
       "server(){location(~,\\.(png|jpg)$){};};"},
      {"empty quoted", "server { add_header X ''; }", "server(){add_header(X,);};"},
      {"quote spans lines", "server { return 200 'a\nb'; }", "server(){return(200,a\nb);};"},
      {"comment", "# top\nserver { # open\n root /a; # x\n}", "server(){root(/a);};"},
      {"semicolon glued", "server{root /a;index a b;}", "server(){root(/a);index(a,b);};"},
      {"empty statements", "server { ; root /a;; }", "server(){root(/a);};"},
      {"flat: newline ends", "root /a\nworkers 2\n", "root(/a);workers(2);"},
      {"flat: optional semicolon", "root /a;\nworkers 2", "root(/a);workers(2);"},
      {"flat: CRLF", "root /a\r\nworkers 2\r\n", "root(/a);workers(2);"},
      {"flat: hash glued", "root /a#x\n", "root(/a);"},
      {"flat: quoted", "log_format main '$a b'\n", "log_format(main,$a b);"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<ConfNode> nodes;
    std::string err;
    ASSERT_TRUE(parseConfTree(c.text, "t.conf", &nodes, &err)) << err;
    EXPECT_EQ(show(nodes), c.tree);
  }
}

TEST(ConfParserTest, RecordsFileAndLine) {
  std::vector<ConfNode> nodes;
  std::string err;
  ASSERT_TRUE(parseConfTree("\n\nserver {\n\n  root\n /a;\n}", "x.conf", &nodes, &err)) << err;
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].line, 3);
  EXPECT_EQ(nodes[0].file, "x.conf");
  ASSERT_EQ(nodes[0].children.size(), 1u);
  EXPECT_EQ(nodes[0].children[0].line, 5);
}

TEST(ConfParserTest, ErrorsNameFileAndLine) {
  struct Case {
    const char* text;
    const char* err;
  };
  const Case cases[] = {
      {"server {\n root /a;\n", "t.conf:2: unexpected end of file, expecting '}'"},
      {"server { root /a }", "t.conf:1: unexpected '}' (missing ';'?)"},
      {"root /a;\n}\nserver {}", "t.conf:2: unexpected '}'"},
      {"server {}\n{ }", "t.conf:2: unexpected '{'"},
      {"server {}\nroot /a", "t.conf:2: unexpected end of file, expecting ';' or '}'"},
      {"server {\n return 200 'abc;\n}\n", "t.conf:2: unterminated quoted string"},
      {"server { return 200 'a'b; }", "t.conf:1: unexpected 'b' after a quoted string"},
      {"include;", "t.conf:1: 'include' expects one file or pattern"},
      {"include a b;", "t.conf:1: 'include' expects one file or pattern"},
      {"server { include x { } }", "t.conf:1: 'include' takes no block"},
      {"include /nonexistent/h.conf;",
       "t.conf:1: cannot open config file '/nonexistent/h.conf': No such file or directory"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    std::vector<ConfNode> nodes;
    std::string err;
    EXPECT_FALSE(parseConfTree(c.text, "t.conf", &nodes, &err));
    EXPECT_EQ(err, c.err);
  }
}

// A scratch directory of config files, removed afterwards.
class ConfDir {
 public:
  ConfDir() {
    char name[] = "/tmp/HttpServerConfDirXXXXXX";
    dir_ = ::mkdtemp(name);
  }
  ~ConfDir() { std::system(("rm -rf " + dir_).c_str()); }
  std::string write(const std::string& rel, const std::string& text) {
    const std::string path = dir_ + "/" + rel;
    const size_t slash = path.rfind('/');
    ::mkdir(path.substr(0, slash).c_str(), 0755);
    std::ofstream(path) << text;
    return path;
  }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
};

TEST(ConfParserTest, IncludeExpandsFilesAndGlobsInPlace) {
  ConfDir d;
  d.write("conf.d/b.conf", "server { server_name b; }\n");
  d.write("conf.d/a.conf", "server { server_name a; }\n");
  d.write("conf.d/skip.txt", "garbage {");
  d.write("loc.inc", "location /x { root /x; }\n");
  d.write("flat.inc", "workers 3\n");
  const std::string main = d.write("main.conf",
                                   "include flat.inc;\ninclude conf.d/*.conf;\nserver { include "
                                   "loc.inc; }\ninclude none/*.conf;\n");
  std::string text;
  std::string err;
  ASSERT_TRUE(readConfFile(main, &text, &err)) << err;
  std::vector<ConfNode> nodes;
  ASSERT_TRUE(parseConfTree(text, main, &nodes, &err)) << err;
  EXPECT_EQ(show(nodes),
            "workers(3);server(){server_name(a);};server(){server_name(b);};"
            "server(){location(/x){root(/x);};};");
  EXPECT_EQ(nodes[1].file, d.path() + "/conf.d/a.conf");
  EXPECT_EQ(nodes[1].line, 1);
}

TEST(ConfParserTest, IncludeErrorsPointIntoTheIncludedFile) {
  ConfDir d;
  d.write("bad.conf", "\nserver {\n");
  d.write("loop.conf", "include loop.conf;\n");
  const std::string a = d.write("a.conf", "include bad.conf;\n");
  const std::string b = d.write("b.conf", "include loop.conf;\n");
  std::vector<ConfNode> nodes;
  std::string err;
  std::string text;
  ASSERT_TRUE(readConfFile(a, &text, &err));
  EXPECT_FALSE(parseConfTree(text, a, &nodes, &err));
  EXPECT_EQ(err, d.path() + "/bad.conf:2: unexpected end of file, expecting '}'");
  ASSERT_TRUE(readConfFile(b, &text, &err));
  EXPECT_FALSE(parseConfTree(text, b, &nodes, &err));
  EXPECT_NE(err.find("/loop.conf:1: includes nested deeper than 16 levels"), std::string::npos)
      << err;
}

TEST(ConfParserTest, PrintParsesBackToTheSameTree) {
  const char* text =
      "workers 2;\nlog_format main escape=json '{\"a\":\"$uri\"}' \"x\\\\y\";\n"
      "server {\n listen 127.0.0.1:80 default_server;\n"
      " location ~* \\.(png|jpg)$ { add_header X-A 'a b' always; return 200 \"it's;{}#\"; }\n"
      " location = / { add_header E ''; }\n}\n";
  std::vector<ConfNode> first;
  std::string err;
  ASSERT_TRUE(parseConfTree(text, "t.conf", &first, &err)) << err;
  const std::string printed = printConfTree(first);
  std::vector<ConfNode> second;
  ASSERT_TRUE(parseConfTree(printed, "p.conf", &second, &err)) << err << "\n" << printed;
  EXPECT_EQ(show(first), show(second));
  EXPECT_EQ(printConfTree(second), printed);
  EXPECT_NE(printed.find("    location ~* \\.(png|jpg)$ {\n"), std::string::npos) << printed;
}

}  // namespace
}  // namespace hs
