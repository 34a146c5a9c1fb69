# Source: "Text classification with Transformer" by Apoorv Nandan, keras.io code example
#   https://keras.io/examples/nlp/text_classification_with_transformer/
#   code: https://github.com/keras-team/keras-io/blob/master/examples/nlp/text_classification_with_transformer.py
# Simplified:
#   - dropped IMDB loading/padding, compile and fit; vocab_size = 20000 and
#     maxlen = 200 fixed as published.
#   - the custom TokenAndPositionEmbedding layer is replaced by its token
#     Embedding(vocab_size, embed_dim) only. The POSITION embedding
#     (Embedding(maxlen, embed_dim) applied to ops.arange(maxlen) and added to the
#     token embeddings) is DROPPED, because it needs custom ops
#     (this removes 200 * 32 = 6,400 parameters versus the published model).
#   - the custom TransformerBlock layer is inlined as plain functional layers;
#     its inner keras.Sequential feed-forward network (Dense(ff_dim, relu),
#     Dense(embed_dim)) is inlined as two Dense layers, and the `a + b`
#     residual sums are written as layers.Add().
#   The original attribute names are given in comments.
import keras
from keras import layers

vocab_size = 20000  # Only consider the top 20k words
maxlen = 200  # Only consider the first 200 words of each movie review
embed_dim = 32  # Embedding size for each token
num_heads = 2  # Number of attention heads
ff_dim = 32  # Hidden layer size in feed forward network inside transformer
rate = 0.1  # TransformerBlock dropout rate (default)

inputs = layers.Input(shape=(maxlen,))
# TokenAndPositionEmbedding.token_emb (position embedding dropped, see above)
x = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)(inputs)

# --- TransformerBlock(embed_dim, num_heads, ff_dim) ---
attn_output = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)(x, x)  # att
attn_output = layers.Dropout(rate)(attn_output)  # dropout1
out1 = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attn_output]))  # layernorm1
ffn_output = layers.Dense(ff_dim, activation="relu")(out1)  # ffn[0]
ffn_output = layers.Dense(embed_dim)(ffn_output)  # ffn[1]
ffn_output = layers.Dropout(rate)(ffn_output)  # dropout2
x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([out1, ffn_output]))  # layernorm2
# --- end TransformerBlock ---

x = layers.GlobalAveragePooling1D()(x)
x = layers.Dropout(0.1)(x)
x = layers.Dense(20, activation="relu")(x)
x = layers.Dropout(0.1)(x)
outputs = layers.Dense(2, activation="softmax")(x)

model = keras.Model(inputs=inputs, outputs=outputs)
