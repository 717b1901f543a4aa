#!/bin/sh
# Install the Sift bundle for the current user on Linux (no root needed).
#
#   packaging/linux/install.sh [BUNDLE]     BUNDLE defaults to dist/Sift (packaging/build.sh)
#   packaging/linux/uninstall.sh            removes all of it again (your index and settings stay)
#
# It puts, under ${XDG_DATA_HOME:-~/.local/share}:
#   sift/                                   the bundle (replaced on reinstall)
#   applications/io.github.sift.Sift.desktop   menu entry, Exec pointing at sift/Sift
#   icons/hicolor/<size>/apps/io.github.sift.Sift.png (16…512) and scalable/…svg
#   metainfo/io.github.sift.Sift.metainfo.xml  for software centres
# and a link ~/.local/bin/sift → sift/Sift when ~/.local/bin exists (the command line).
# Then it refreshes the desktop and icon caches where those tools are installed.
set -eu

APP_ID=io.github.sift.Sift
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RES=$ROOT/resources
BUNDLE=${1:-$ROOT/dist/Sift}
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
DEST=$DATA/sift
MARKER=.sift-install  # marks a folder this script made; uninstall.sh removes only such a folder

die() { echo "install.sh: $*" >&2; exit 1; }

[ -x "$BUNDLE/Sift" ] && [ -d "$BUNDLE/_internal" ] ||
    die "no Sift bundle at $BUNDLE (build it first: packaging/build.sh)"
for f in "$RES/linux/$APP_ID.desktop" "$RES/linux/$APP_ID.metainfo.xml" "$RES/icons/sift.svg"; do
    [ -f "$f" ] || die "missing $f"
done
# Never overwrite a folder we did not create (e.g. Sift's own data folder on a case-insensitive
# file system, where sift and Sift are the same name).
if [ -e "$DEST" ] && [ ! -f "$DEST/$MARKER" ]; then
    die "$DEST exists and was not made by this script; move it away first"
fi

# The bundle: copy next to the old one, then swap, so an interrupted copy breaks nothing.
mkdir -p "$DATA"
rm -rf "$DEST.new"
cp -R "$BUNDLE" "$DEST.new"
date -u +%Y-%m-%dT%H:%M:%SZ > "$DEST.new/$MARKER"
rm -rf "$DEST"
mv "$DEST.new" "$DEST"
echo "installed the app in $DEST"

# The menu entry, with Exec quoted as the Desktop Entry spec asks: inside double quotes
# " ` $ \ take a backslash, which the file itself writes doubled; % is written %%.
exec_path=$(printf '%s' "$DEST/Sift" |
    sed -e 's/\\/\\\\\\\\/g' -e 's/["`$]/\\\\&/g' -e 's/%/%%/g')
mkdir -p "$DATA/applications"
while IFS= read -r line || [ -n "$line" ]; do
    case $line in
        TryExec=*) ;;
        Exec=*) printf 'Exec="%s"\nTryExec=%s\n' "$exec_path" "$DEST/Sift" ;;
        *) printf '%s\n' "$line" ;;
    esac
done < "$RES/linux/$APP_ID.desktop" > "$DATA/applications/$APP_ID.desktop"
chmod 644 "$DATA/applications/$APP_ID.desktop"

for size in 16 32 48 64 128 256 512; do
    png=$RES/icons/sift-$size.png
    [ -f "$png" ] || continue
    mkdir -p "$DATA/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$DATA/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
done
mkdir -p "$DATA/icons/hicolor/scalable/apps"
cp "$RES/icons/sift.svg" "$DATA/icons/hicolor/scalable/apps/$APP_ID.svg"

mkdir -p "$DATA/metainfo"
cp "$RES/linux/$APP_ID.metainfo.xml" "$DATA/metainfo/$APP_ID.metainfo.xml"

if [ -d "$HOME/.local/bin" ] && { [ ! -e "$HOME/.local/bin/sift" ] || [ -L "$HOME/.local/bin/sift" ]; }; then
    ln -sfn "$DEST/Sift" "$HOME/.local/bin/sift"
    echo "linked the command line: $HOME/.local/bin/sift"
fi

if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$DATA/applications" || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t -f "$DATA/icons/hicolor" || true
fi
echo "Sift is in your applications menu (it may take a moment to appear)."
