# Source: "Timeseries classification with a Transformer model" by Theodoros Ntakouris,
#   keras.io code example
#   https://keras.io/examples/timeseries/timeseries_classification_transformer/
#   code: https://github.com/keras-team/keras-io/blob/master/examples/timeseries/timeseries_classification_transformer.py
# Simplified:
#   - dropped FordA download/reshaping, compile, fit and evaluate;
#     input_shape = x_train.shape[1:] fixed to (500, 1), n_classes = 2.
#   - transformer_encoder()/build_model() are unrolled at top level with the
#     published hyperparameters (head_size=256, num_heads=4, ff_dim=4,
#     num_transformer_blocks=4, mlp_units=[128], mlp_dropout=0.4, dropout=0.25).
#   - the residual sums `x + inputs` / `x + res` are written as layers.Add().
# Note: the current published code uses
#   GlobalAveragePooling1D(data_format="channels_last") (pools over time, output
#   (None, 1)), which is kept here. The model summary printed on the page (93,130
#   params, pooling output (None, 500)) was produced by an older revision that
#   used data_format="channels_first"; see keras-team/keras-io issues #1908, #2395.
import keras
from keras import layers

input_shape = (500, 1)
n_classes = 2
head_size = 256
num_heads = 4
ff_dim = 4
num_transformer_blocks = 4
mlp_units = [128]
mlp_dropout = 0.4
dropout = 0.25

inputs = keras.Input(shape=input_shape)
x = inputs
for _ in range(num_transformer_blocks):
    # --- transformer_encoder(x, head_size, num_heads, ff_dim, dropout) ---
    block_inputs = x
    # Attention and Normalization
    x = layers.MultiHeadAttention(
        key_dim=head_size, num_heads=num_heads, dropout=dropout
    )(block_inputs, block_inputs)
    x = layers.Dropout(dropout)(x)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    res = layers.Add()([x, block_inputs])

    # Feed Forward Part
    x = layers.Conv1D(filters=ff_dim, kernel_size=1, activation="relu")(res)
    x = layers.Dropout(dropout)(x)
    x = layers.Conv1D(filters=block_inputs.shape[-1], kernel_size=1)(x)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    x = layers.Add()([x, res])
    # --- end transformer_encoder ---

x = layers.GlobalAveragePooling1D(data_format="channels_last")(x)
for dim in mlp_units:
    x = layers.Dense(dim, activation="relu")(x)
    x = layers.Dropout(mlp_dropout)(x)
outputs = layers.Dense(n_classes, activation="softmax")(x)
model = keras.Model(inputs, outputs)
