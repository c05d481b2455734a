// SPICE card syntax: tokens, "key=value" assignments and parameter expressions (evaluate).
#include "library_syntax.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <exception>

#include "nladc/core/error.hpp"
#include "nladc/spice/library.hpp"

namespace nladc::spice {

namespace detail {

[[noreturn]] void fail_at(const std::string& file, int line, const std::string& detail)
{
    throw InputError(file, line > 0 ? fmt::format("line {}", line) : std::string(), detail);
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::vector<std::string> tokenize(const std::string& text)
{
    std::vector<std::string> raw;
    std::string current;
    int depth = 0;
    bool quoted = false;
    for (char c : text) {
        if (c == '{') ++depth;
        if (c == '}') depth = std::max(0, depth - 1);
        if (c == '\'') quoted = !quoted;
        if (depth == 0 && !quoted && is_space(c)) {
            if (!current.empty()) raw.push_back(current);
            current.clear();
            continue;
        }
        current += c;
    }
    if (!current.empty()) raw.push_back(current);
    std::vector<std::string> tokens;
    for (const std::string& t : raw) {
        if (!tokens.empty() && (t.front() == '=' || tokens.back().back() == '='))
            tokens.back() += t;
        else
            tokens.push_back(t);
    }
    return tokens;
}

std::size_t assignment(const std::string& token)
{
    int depth = 0;
    for (std::size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '{' || token[i] == '(') ++depth;
        if (token[i] == '}' || token[i] == ')') --depth;
        if (token[i] == '=' && depth == 0) return i;
    }
    return std::string::npos;
}

bool is_assignment(const std::string& token)
{
    const std::size_t eq = assignment(token);
    return eq != std::string::npos && eq > 0;
}

std::size_t first_assignment(const std::vector<std::string>& tokens, std::size_t from)
{
    for (std::size_t i = from; i < tokens.size(); ++i)
        if (tokens[i] == "params:" || is_assignment(tokens[i])) return i;
    return tokens.size();
}

}  // namespace detail

using detail::fail_at;
using detail::is_space;

namespace {

/// SPICE scale suffix (ngspice): t g meg k m(illi) mil u n p f a; other letters are ignored.
double suffix_scale(const std::string& suffix)
{
    if (suffix.rfind("meg", 0) == 0) return 1e6;
    if (suffix.rfind("mil", 0) == 0) return 25.4e-6;
    static const std::string letters = "tgkmunpfa";
    static const double scales[] = {1e12, 1e9, 1e3, 1e-3, 1e-6, 1e-9, 1e-12, 1e-15, 1e-18};
    const std::size_t i = suffix.empty() ? std::string::npos : letters.find(suffix[0]);
    return i == std::string::npos ? 1.0 : scales[i];
}

/// Recursive-descent evaluator of SPICE parameter expressions: numbers with suffixes,
/// names from the scope, + - * / ^ ** and sqrt abs exp log min max pow.
class Expression {
public:
    Expression(const std::string& text, const Scope& scope, const std::string& file, int line)
        : text_(text), scope_(scope), file_(file), line_(line)
    {
    }

    double value()
    {
        const double v = sum();
        skip();
        if (pos_ != text_.size()) fail(fmt::format("unexpected '{}'", text_.substr(pos_)));
        if (!std::isfinite(v)) fail("not a finite number");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& why) const
    {
        fail_at(file_, line_, fmt::format("cannot evaluate '{}': {}", text_, why));
    }
    void skip()
    {
        while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
    }
    bool take(const std::string& symbol)
    {
        skip();
        if (text_.compare(pos_, symbol.size(), symbol) != 0) return false;
        pos_ += symbol.size();
        return true;
    }
    double sum()
    {
        double v = product();
        for (;;) {
            if (take("+"))
                v += product();
            else if (take("-"))
                v -= product();
            else
                return v;
        }
    }
    double product()
    {
        double v = unary();
        for (;;) {
            skip();
            if (text_.compare(pos_, 2, "**") == 0) return v;  // handled by power()
            if (take("*"))
                v *= unary();
            else if (take("/"))
                v /= unary();
            else
                return v;
        }
    }
    double unary()
    {
        if (take("-")) return -unary();
        if (take("+")) return unary();
        return power();
    }
    double power()
    {
        const double base = primary();
        if (take("**") || take("^")) return std::pow(base, unary());
        return base;
    }
    double primary()
    {
        skip();
        if (pos_ >= text_.size()) fail("unexpected end");
        const char c = text_[pos_];
        if (c == '(') {
            ++pos_;
            const double v = sum();
            if (!take(")")) fail("missing ')'");
            return v;
        }
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return number();
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            const std::size_t start = pos_;
            while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
                ++pos_;
            const std::string name = text_.substr(start, pos_ - start);
            if (take("(")) return call(name);
            const auto it = scope_.find(name);
            if (it == scope_.end()) fail(fmt::format("unknown parameter '{}'", name));
            return it->second;
        }
        fail(fmt::format("unexpected '{}'", c));
    }
    double call(const std::string& name)
    {
        std::vector<double> args;
        if (!take(")")) {
            do args.push_back(sum());
            while (take(","));
            if (!take(")")) fail("missing ')'");
        }
        const bool one = args.size() == 1, two = args.size() == 2;
        if (one && name == "sqrt") return std::sqrt(args[0]);
        if (one && name == "abs") return std::fabs(args[0]);
        if (one && name == "exp") return std::exp(args[0]);
        if (one && (name == "log" || name == "ln")) return std::log(args[0]);
        if (two && (name == "pow" || name == "pwr")) return std::pow(args[0], args[1]);
        if (two && name == "min") return std::min(args[0], args[1]);
        if (two && name == "max") return std::max(args[0], args[1]);
        fail(fmt::format("unknown function '{}' with {} argument(s)", name, args.size()));
    }
    double number()
    {
        const std::size_t start = pos_;
        while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.'))
            ++pos_;
        if (pos_ < text_.size() && text_[pos_] == 'e') {
            std::size_t p = pos_ + 1;
            if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
            if (p < text_.size() && std::isdigit(static_cast<unsigned char>(text_[p]))) {
                pos_ = p;
                while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
            }
        }
        double v = 0.0;
        try {
            v = std::stod(text_.substr(start, pos_ - start));
        } catch (const std::exception&) {
            fail(fmt::format("bad number '{}'", text_.substr(start, pos_ - start)));
        }
        const std::size_t suffix = pos_;
        while (pos_ < text_.size() && std::isalpha(static_cast<unsigned char>(text_[pos_]))) ++pos_;
        return v * suffix_scale(text_.substr(suffix, pos_ - suffix));
    }

    std::string text_;
    const Scope& scope_;
    std::string file_;
    int line_;
    std::size_t pos_ = 0;
};

}  // namespace

double evaluate(std::string expression, const Scope& scope, const std::string& file, int line)
{
    const bool braced = expression.size() >= 2 && expression.front() == '{' && expression.back() == '}';
    const bool quoted = expression.size() >= 2 && expression.front() == '\'' && expression.back() == '\'';
    if (braced || quoted) expression = expression.substr(1, expression.size() - 2);
    return Expression(expression, scope, file, line).value();
}

}  // namespace nladc::spice
