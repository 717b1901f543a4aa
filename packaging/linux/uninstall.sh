#!/bin/sh
# Remove what packaging/linux/install.sh installed for the current user.
#
#   packaging/linux/uninstall.sh
#
# Your settings and index (Sift's data folder, e.g. ~/.local/share/Sift) are kept; delete that
# folder yourself to remove them too.
set -eu

APP_ID=io.github.sift.Sift
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
DEST=$DATA/sift
MARKER=.sift-install

if [ -f "$DEST/$MARKER" ]; then
    rm -rf "$DEST"
    echo "removed $DEST"
elif [ -e "$DEST" ]; then
    echo "uninstall.sh: left $DEST alone: it was not made by install.sh" >&2
fi
rm -rf "$DEST.new"

link=$HOME/.local/bin/sift
if [ -L "$link" ] && [ "$(readlink "$link")" = "$DEST/Sift" ]; then
    rm -f "$link"
fi

rm -f "$DATA/applications/$APP_ID.desktop" "$DATA/metainfo/$APP_ID.metainfo.xml"
for dir in "$DATA"/icons/hicolor/*/apps; do
    [ -d "$dir" ] || continue
    rm -f "$dir/$APP_ID.png" "$dir/$APP_ID.svg"
done

if command -v update-desktop-database >/dev/null 2>&1 && [ -d "$DATA/applications" ]; then
    update-desktop-database -q "$DATA/applications" || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -d "$DATA/icons/hicolor" ]; then
    gtk-update-icon-cache -q -t -f "$DATA/icons/hicolor" || true
fi
echo "Sift is uninstalled."
