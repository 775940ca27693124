import { describe, expect, it } from 'vitest';
import { findHolePlaces } from '../../../src/shared/shell-context.js';

/** `@` marks a hole: `echo "@"` is `echo "` + hole + `"`. */
const places = (template: string): string[] =>
  findHolePlaces(template.split('@')).map((place) =>
    place.kind === 'quoted' ? place.quoting : `refused:${place.place}`,
  );

describe('findHolePlaces', () => {
  it.each([
    ['echo @', ['unquoted']],
    ['echo "@"', ['double-quoted']],
    ["echo '@'", ['single-quoted']],
    ['echo "a @ b" @ \'c@\'', ['double-quoted', 'unquoted', 'single-quoted']],
    ['echo "it\'s @"', ['double-quoted']],
    ['echo \'say "@"\'', ['single-quoted']],
    ['echo "a\\"@"', ['double-quoted']],
    ["echo a\\'@", ['unquoted']],
    ["echo 'a\\'@", ['unquoted']],
    ['echo "$(date)" @', ['unquoted']],
    ['echo "$(echo ")")" "@"', ['double-quoted']],
    ['echo $((1 + (2))) "@"', ['double-quoted']],
    ['echo ${HOME:-"}"} @', ['unquoted']],
    ['echo `date` "@"', ['double-quoted']],
    ['x=@; echo "$x"', ['unquoted']],
    ['echo a#b @', ['unquoted']],
    ['echo @#@', ['unquoted', 'unquoted']],
    ['cat <<EOF\nbody\nEOF\necho @', ['unquoted']],
    ['cat <<-\'EOF\'\n\tbody\n\tEOF\necho "@"', ['double-quoted']],
    ['cat <<<@', ['unquoted']],
    ['echo hi # note\necho @', ['unquoted']],
    ["echo $'a\\'b' @", ['unquoted']],
  ])('%j → %j', (template, expected) => {
    expect(places(template)).toEqual(expected);
  });

  it.each([
    ['echo $(cat @)', 'command-substitution'],
    ['echo "$(cat "@")"', 'command-substitution'],
    ['echo $(echo $(echo @))', 'command-substitution'],
    ['echo `cat @`', 'backticks'],
    ['echo "`cat @`"', 'backticks'],
    ['echo ${X:-@}', 'parameter-expansion'],
    ['echo "${X:-@}"', 'parameter-expansion'],
    ['echo $((@ + 1))', 'arithmetic'],
    ["echo $'@'", 'dollar-single-quotes'],
    ['echo hi # @', 'comment'],
    ['#@', 'comment'],
    ['cat <<EOF\n@\nEOF', 'here-document'],
    ["cat <<'EOF'\nline @\nEOF", 'here-document'],
    ['cat <<@\nx\n', 'here-document'],
    ['echo \\@', 'after-backslash'],
    ['echo "\\@"', 'after-backslash'],
    ['echo $@', 'after-dollar'],
    ['echo "$@"', 'after-dollar'],
    ['echo "@', 'unbalanced'],
    ["echo '@' '", 'unbalanced'],
    ['echo @ $(date', 'unbalanced'],
    ['echo @ \\', 'unbalanced'],
  ])('refuses %j: %s', (template, place) => {
    expect(places(template)).toEqual([`refused:${place}`]);
  });

  it('ends a here-document only at its delimiter line, and a hole on that line is no delimiter', () => {
    expect(places('cat <<EOF\nEOFx\n@\nEOF\necho @')).toEqual(['refused:here-document', 'unquoted']);
    expect(places('cat <<EOF\n@\nEOF\necho @')).toEqual(['refused:here-document', 'unquoted']);
  });

  it('treats `#` as a comment only at the start of a word', () => {
    expect(places('echo x#@')).toEqual(['unquoted']);
    expect(places('echo x;#@')).toEqual(['refused:comment']);
    expect(places('echo "#"@')).toEqual(['unquoted']);
  });
});
